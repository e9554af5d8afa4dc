/**
 * The cluster decisions both the simulator and the server run: place (choose, admit, next
 * candidate), route (among loaded copies, per model), scale (target copies, which idle copies go),
 * and the per-instance and per-model state they read. See packages/core/README.md.
 */
export { InstanceViewState, clusterFreeFraction } from "./instance-view.js"
export { RateWindows } from "./rate-windows.js"
export { ModelActivity, USE_WINDOW_GAP_MS, modelLoadStatsState, type ModelLoadStatsState } from "./model-activity.js"
export { RecencyList, type RecencyNode } from "./recency-list.js"
export { Placer, type Admission } from "./place.js"
export { route } from "./route.js"
export { targetCopies, copiesToRemove, type ScalableCopy } from "./scale.js"
