// Worker entry from the sources: Node 20 does not apply `--import tsx` given in a Worker's
// execArgv to the worker's own entry file, so register tsx here, in plain JavaScript, and then
// load the TypeScript worker (the bundle has its own entry, bench-sim-worker.mjs).
import { register } from "tsx/esm/api"

register()
await import(new URL("./sim-worker.ts", import.meta.url).href)
