/**
 * Where a request's latency goes, on both sides by the same definitions, and which part of the
 * model is off when the p99s part.
 *
 * Components, ms (per request unless said otherwise):
 *  - loadWaitPerColdMs: how long a cold-start request waited for its model's load (real:
 *    meshkit_model_loading_wait_seconds, from the handler's entry; sim: coldStartSeconds ÷ coldStarts)
 *  - loadMs: mean load time (real: meshkit_load_duration_seconds; sim: the calibrated model)
 *  - inServerMs: time in the server once the model is ready: slot queue, runtime-thread wait,
 *    execution, server overhead (real: request duration − loading wait, /metrics; sim: latency −
 *    load wait − the outside term)
 *  - outsideMs: time outside the server's request handler: client, network, HTTP, and any wait
 *    for the event loop before the handler runs (real: client latency − the server's request
 *    duration; sim: the calibrated per-request overhead)
 * Means of the latency are integrated over each side's CDF, so both come from the same kind of
 * summary. `coldShare` tells whether the p99 falls among cold starts (> 1 % of requests waited
 * for a load) or among warm requests.
 */

export interface Decomposition {
  readonly requests: number
  readonly coldStarts: number
  readonly coldShare: number
  readonly p99Ms: number
  readonly meanMs: number
  readonly loadWaitPerColdMs: number
  readonly loadMs: number
  readonly waitMs: number
  /** the calibrated service time per request (execution + overhead), the same on both sides */
  readonly serviceMs: number
  readonly inServerMs?: number
  readonly outsideMs?: number
  /** real only: the server's own figures that have no sim twin (slot queue, event loop, send lag) */
  readonly slotQueueMs?: number
  readonly eventLoopP99Ms?: number
  readonly sendLagP99Ms?: number
}

export type ComponentKey = "loadWaitPerColdMs" | "loadMs" | "waitMs"

export const COMPONENTS: ReadonlyArray<{ readonly key: ComponentKey; readonly label: string; readonly unit: string }> = [
  { key: "loadWaitPerColdMs", label: "load wait", unit: "per cold start" },
  { key: "loadMs", label: "load time (real: wall, with its wait for the event loop; sim: its cost)", unit: "per load" },
  { key: "waitMs", label: "queueing beyond service and load wait (runtime thread, event loop, slots)", unit: "per request" }
]

export interface Attribution {
  /** null: nothing stands out (every component within 20 %) */
  readonly component: ComponentKey | null
  readonly real: number
  readonly sim: number
  readonly text: string
}

/** the mean of a [value, fraction ≤] CDF: Σ (fᵢ − fᵢ₋₁) · valueᵢ */
export const cdfMean = (cdf: ReadonlyArray<readonly [number, number]>): number => {
  let prev = 0
  let s = 0
  for (const [v, f] of cdf) {
    s += (f - prev) * v
    prev = f
  }
  return prev > 0 ? s / prev : 0
}

const fmtMs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

/**
 * The component the simulator gets most wrong, in the direction of the p99 error: each
 * component's gap is weighed by what it adds to a request's latency (load wait × cold share, load
 * time × loads per request, the wait as it is), so a large relative gap in a rare part does
 * not outweigh a small one in every request. Candidates: the load wait and the queueing (the
 * load time is shown only, see below); the text says whether the p99 falls among cold starts.
 */
export const attribute = (real: Decomposition, sim: Decomposition, loadsPerRequest: { real: number; sim: number }): Attribution => {
  const over = sim.p99Ms >= real.p99Ms
  const cold = real.coldShare > 0.01
  const weight = (k: ComponentKey, side: "real" | "sim") =>
    k === "loadWaitPerColdMs" ? (side === "real" ? real.coldShare : sim.coldShare) : k === "loadMs" ? loadsPerRequest[side] : 1
  // load time is shown, not a candidate: the real one is timed wall, waits for the event loop
  // included, the simulator's is a load's cost alone (it adds the wait as queueing), so they
  // differ by design. Queueing is a candidate even when the p99 falls among cold starts: on a
  // busy server the tail's requests wait for the event loop before the handler sees them.
  const candidates = COMPONENTS.filter((c) => c.key !== "loadMs")
  const scored = candidates.map((c) => {
    const r = real[c.key]
    const s = sim[c.key]
    return { c, r, s, gap: s * weight(c.key, "sim") - r * weight(c.key, "real"), rel: r > 0 ? Math.abs(s - r) / r : s > 0 ? Infinity : 0 }
  })
  const sameSign = scored.filter((x) => (over ? x.gap > 0 : x.gap < 0) && x.rel > 0.2)
  const pool = sameSign.length > 0 ? sameSign : scored.filter((x) => x.rel > 0.2)
  const where = cold ? `the p99 falls among cold starts (${(real.coldShare * 100).toFixed(1)} % of requests waited for a load)` : `the p99 falls among warm requests (${(real.coldShare * 100).toFixed(1)} % cold starts)`
  if (pool.length === 0) return { component: null, real: 0, sim: 0, text: `no component is off by more than 20 %; ${where}` }
  const worst = pool.reduce((a, b) => (Math.abs(b.gap) > Math.abs(a.gap) ? b : a))
  const verb = worst.s > worst.r ? "overestimates" : "underestimates"
  const outside = worst.c.key === "waitMs" && real.outsideMs !== undefined ? `; real: ${fmtMs(real.outsideMs)} ms per request outside the server's handler, waiting for the event loop or on the way` : ""
  return {
    component: worst.c.key,
    real: worst.r,
    sim: worst.s,
    text: `sim ${verb} ${worst.c.label}: ${fmtMs(worst.s)} ms vs ${fmtMs(worst.r)} ms ${worst.c.unit}${outside} (${where})`
  }
}
