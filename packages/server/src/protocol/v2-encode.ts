/** Old path kept only for packages/server/bench/ (moving to its own package on another branch); delete with it. */
export { encodeInferResponse } from "../transport/kserve-v2/rest-encode.js"
