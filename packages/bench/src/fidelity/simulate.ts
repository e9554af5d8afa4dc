import { makeRng } from "@meshkit/core"
import type { PolicyResult, RunOutput, SlowdownConfig } from "@meshkit/sim"
import type { Fitted } from "./calibrate.js"
import type { ModelFiles } from "./model-files.js"
import type { TraceWindow } from "./trace-window.js"
import type { FidelityOptions, SimSide } from "./types.js"

/**
 * Step 5: the simulator on the same requests, calibrated: one instance with the server's memory,
 * per-request execution times drawn from the fitted lognormal, the server's eviction policy. Run
 * twice: with the runtime-thread model (as many threads as the server has) and without it
 * (unlimited), to show what that model changes.
 */

export interface Simulated {
  readonly runtimeThreads: number
  readonly out: RunOutput
  readonly unlimited: RunOutput
  /** the mean of the execution times drawn for the requests, ms */
  readonly execMeanMs: number
}

/**
 * `instances` > 1: the cluster run's twin: that many instances of `memoryBytes` each, the
 * scenario's maxCopies, placement, routing and scaling (as the real instances were given).
 */
/**
 * `arrivalsMs`: when each request arrives, ms from the start. The fidelity run passes the real
 * run's send times (the schedule plus the replay client's own lag, which on a busy machine
 * bunches requests up), so that both sides see the same arrivals.
 */
export const simulateWindow = async (w: TraceWindow, files: ModelFiles, fit: Fitted, memoryBytes: number, o: FidelityOptions, instances = 1, arrivalsMs: Float64Array = w.atMs, slowdown?: SlowdownConfig): Promise<Simulated> => {
  const sim = await import("@meshkit/sim")
  const { loaded, table } = w
  const c = fit.calibration
  const runtimeThreads = o.simRuntimeThreads ?? Math.max(1, o.runtimeWorkers)
  const rng = makeRng(loaded.scenario.seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
  const execMs = Float64Array.from(w.model, (m) => fit.execAt(files.fileBytes[m]!) * Math.exp(c.execSigma * gauss()))
  const simTrace = sim.arrayTrace(`${loaded.name} (fidelity window)`, { ids: table.ids, tenants: table.tenants, sizes: fit.simSizes }, arrivalsMs, w.model, execMs)
  const simulateWith = (threads: number) =>
    sim.simulate(simTrace, {
      mode: "full",
      cluster: {
        instances,
        memoryBytes,
        maxConcurrentLoads: loaded.cluster.maxConcurrentLoads,
        loadFixedMs: c.loadFixedMs,
        loadBytesPerSecond: c.loadBytesPerSecond,
        unloadMs: c.unloadMs,
        exec: { kind: "constant", ms: c.execMsAt1MiB },
        modelConcurrency: loaded.cluster.modelConcurrency,
        maxCopies: instances > 1 ? loaded.cluster.maxCopies : 1,
        runtimeThreads: threads,
        requestOverheadMs: c.requestOverheadMs,
        ...(o.simModel === "legacy" ? {} : { unloadHoldMs: c.unloadHoldMs }),
        loadSigma: c.loadSigma,
        ...(slowdown === undefined ? {} : { slowdown })
      },
      eviction: o.policy,
      placement: instances > 1 ? loaded.scenario.policies.placement : "modelmesh",
      routing: instances > 1 ? loaded.scenario.policies.routing : "least-in-flight",
      scaling: instances > 1 ? loaded.scenario.policies.scaling : "none",
      seed: loaded.scenario.seed,
      sloMs: loaded.scenario.slo.latencyMs
    })
  const out = await simulateWith(runtimeThreads)
  const unlimited = runtimeThreads === 0 ? out : await simulateWith(0)
  let execSum = 0
  for (const x of execMs) execSum += x
  return { runtimeThreads, out, unlimited, execMeanMs: execMs.length > 0 ? execSum / execMs.length : 0 }
}

/** The simulator's side by the definitions both sides share (hit ratio = 1 − loads triggered / requests). */
export const sideOf = (r: PolicyResult): SimSide => ({
  requests: r.requests,
  hitRatio: 1 - r.misses / r.requests,
  coldStarts: r.coldStarts,
  loads: r.loads,
  latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99 },
  latencyAll: r.latencyUs
})
