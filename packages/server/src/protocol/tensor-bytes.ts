/** Old path kept only for packages/server/bench/ (moving to its own package on another branch); delete with it. */
export { tensorBytes } from "../transport/kserve-v2/tensor-bytes.js"
