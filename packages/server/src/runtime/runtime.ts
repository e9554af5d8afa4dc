/** Old path kept only for packages/server/bench/ (moving to its own package on another branch); delete with it. */
export * from "../runtimes/runtime.js"
