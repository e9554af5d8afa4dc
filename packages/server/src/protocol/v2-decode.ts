/** Old path kept only for packages/server/bench/ (moving to its own package on another branch); delete with it. */
export { decodeInferRequest } from "../transport/kserve-v2/rest-decode.js"
