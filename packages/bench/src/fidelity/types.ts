import type { LatencyPercentiles } from "@meshkit/sim"
import type { Attribution, Decomposition } from "./decomposition.js"

/** What `meshkit fidelity` is asked to do, and what it finds (see fidelity.ts for the method). */

export interface FidelityOptions {
  readonly scenarioFile: string
  readonly sets: ReadonlyArray<string>
  /** trace minutes replayed (from the start of the trace) */
  readonly minutes: number
  /** time compression: trace time / wall time */
  readonly compress: number
  /** model file size = scenario size / sizeScale */
  readonly sizeScale: number
  /**
   * bytes of server memory per byte of model file (the ONNX runtime's measured RSS per file byte
   * is 1.75–1.9 for small models, and the server's default prediction factor is 2): the budget is
   * scaled by it so the same share of the models fits as in the scenario
   */
  readonly memoryFactor: number
  readonly policy: string
  /** the server's --runtime-workers (0: the ONNX runtime on the JS thread) */
  readonly runtimeWorkers: number
  /**
   * the simulator's runtime threads per instance; default: what the server has — its workers,
   * or 1 (the JS thread) without workers. 0 = unlimited (loads and inferences never wait for each other)
   */
  readonly simRuntimeThreads?: number
  /**
   * "holds" (default): the load model's level from the replay's measured JS-thread hold per load,
   * and unloads hold the runtime thread for their measured hold; "legacy": as before (the fit's
   * own level, unloads hold nothing), for comparison
   */
  readonly simModel?: "holds" | "legacy"
  /**
   * replay the server thread's core share over time in the simulator (its schedstat, every
   * 250 ms of the replay): work starting in a step is stretched by the run's mean share ÷ that
   * step's (ClusterConfig.slowdown). Default true when the run has the timeline.
   */
  readonly slowdown?: boolean
  readonly workDir: string
  readonly progress: (line: string) => void
  /**
   * 2 or more: replay on a real cluster of that many instances (etcd + `meshkit serve --etcd`),
   * each with the scenario's memory per instance, against the simulator with as many instances
   */
  readonly instances?: number
  /** write every real request (index, model, scheduled ms, sent ms, latency µs, status) to this CSV file */
  readonly dumpFile?: string
  /** one server only: keep the real run in this file (recorded-run.ts); with a repeat, one file per run */
  readonly recordFile?: string
  /** one server only: no real run; read recorded runs from these files instead (one run each) */
  readonly fromRecords?: ReadonlyArray<string>
}

export interface Side {
  readonly hitRatio: number
  readonly coldStarts: number
  readonly latencyUs: { readonly p50: number; readonly p99: number }
}

export type SimSide = Side & { readonly requests: number; readonly loads: number; readonly latencyAll: LatencyPercentiles }

export interface FidelityResult {
  readonly scenario: string
  readonly settings: {
    readonly policy: string
    readonly minutes: number
    readonly compress: number
    readonly sizeScale: number
    readonly memoryBytes: number
    readonly requests: number
    readonly models: number
    readonly maxConcurrentLoads: number
    readonly modelConcurrency: number
    readonly runtimeWorkers: number
    readonly simRuntimeThreads: number
  }
  readonly calibration: {
    readonly loadFixedMs: number
    readonly loadBytesPerSecond: number
    readonly loadSamples: number
    /** lognormal σ of load times around the fit */
    readonly loadSigma: number
    /**
     * where the load model's shape comes from: "in-run" (every replayed model's last load, with
     * the fixed part lowered to the measured hold when there is one: the default) or "isolated"
     * (loads timed alone after the replay: only without a measured hold, e.g. --sim-model legacy)
     */
    readonly loadSource: "isolated" | "in-run"
    /**
     * where the load model's level comes from: "in-run-hold" (scaled so that its mean over the
     * replay's loads is the JS thread's measured hold per load in that replay, the server's
     * meshkit_js_thread_load_hold_seconds_total) or "fit" (the fit as it is: no hold measured,
     * e.g. with runtime workers)
     */
    readonly loadLevel: "in-run-hold" | "fit"
    /** what an unload holds the runtime thread for (the replay's measured session release), ms; 0 = not measured */
    readonly unloadHoldMs: number
    /**
     * same-run-levels.ts: the factor the execution fit was scaled by so that the requests cost
     * the main thread what it spent in the replay, and the factor on the hold levels for the
     * slowdown; absent: 1 (legacy model)
     */
    readonly execLevel?: number
    readonly holdLevel?: number
    /**
     * the main thread's CPU per second whatever the traffic (same-run-levels.ts, backgroundOf),
     * and the share of its wall time that takes (folded into the slowdown); absent: not fitted
     */
    readonly backgroundCpuMsPerSecond?: number
    readonly backgroundShare?: number
    /** the slowdown replayed (see FidelityOptions.slowdown): steps and min / median / max factor; absent when off */
    readonly slowdown?: { readonly stepMs: number; readonly steps: number; readonly min: number; readonly median: number; readonly max: number }
    /** the fit to the replay's own loads (their wall time, wait for the event loop included) */
    readonly inRunLoad: { readonly loadFixedMs: number; readonly loadBytesPerSecond: number; readonly loadSigma: number }
    /** the fit to the loads timed alone after the replay, and how many (absent: fewer than 10) */
    readonly isolatedLoad?: { readonly loadFixedMs: number; readonly loadBytesPerSecond: number; readonly loadSigma: number }
    readonly isolatedSamples?: number
    readonly unloadMs: number
    /** how long a request holds the runtime thread, at 1 MiB of model file, and per further MiB */
    readonly execMsAt1MiB: number
    readonly execMsPerMiB: number
    readonly execSigma: number
    /**
     * the share of a core the server's main thread got while runnable during the replay
     * (schedstat; 1 when unknown): CPU costs measured after the replay are divided by it
     */
    readonly cpuShare: number
    /** what the load and execution costs were measured as */
    readonly costsFrom: { readonly loads: "thread-cpu" | "wall" | "in-run-wall"; readonly exec: "thread-cpu" | "process-cpu" }
    /** latency of a request outside the runtime (network, client, HTTP): added, holds nothing */
    readonly requestOverheadMs: number
    readonly sizePerFileByte: number
    readonly sessionOverheadBytes: number
  }
  readonly real: Side & { readonly requests: number; readonly loads: number; readonly latencyAll: LatencyPercentiles; readonly statuses: Readonly<Record<string, number>>; readonly errors: number; readonly wallSeconds: number; readonly sendLagMsP99: number }
  readonly sim: SimSide
  /** the measurements behind the calibration: [size in memory, last load ms], [file bytes, measured size], execution samples */
  readonly data: {
    readonly loads: ReadonlyArray<readonly [number, number]>
    /** the loads timed alone after the replay: [size in memory, cost ms as the simulator is given it] */
    readonly isolatedLoads: ReadonlyArray<readonly [number, number]>
    readonly sizes: ReadonlyArray<readonly [number, number]>
    readonly exec: ReadonlyArray<{ readonly fileBytes: number; readonly holdMs: number; readonly threadCpuMs?: number; readonly idleMs: ReadonlyArray<number> }>
  }
  /** the simulator without the runtime-thread model (runtimeThreads unlimited), for comparison */
  readonly simUnlimitedThreads: SimSide
  readonly series: {
    readonly realCdf: ReadonlyArray<readonly [number, number]>
    readonly simCdf: ReadonlyArray<readonly [number, number]>
    readonly simUnlimitedCdf: ReadonlyArray<readonly [number, number]>
  }
  /**
   * Where the two sides part: mean load time (real: every load, /metrics; sim: the calibrated
   * model over the same models' loads), mean wait of a cold-start request for its load (real:
   * /metrics, sim: coldStartSeconds / coldStarts), and the replay client's own lag.
   */
  readonly diagnostics: {
    readonly realMeanLoadMs: number
    readonly simMeanLoadMs: number
    readonly realMeanLoadingWaitMs: number
    readonly simMeanLoadingWaitMs: number
    readonly realMeanUnloadMs: number
    /**
     * the JS thread held by the synchronous part of a load (session create) and of an unload
     * (session release), mean per load / unload over the replay (the server's
     * meshkit_js_thread_*_hold_seconds_total; 0 with runtime workers)
     */
    readonly realLoadHoldMs: number
    readonly realUnloadHoldMs: number
  }
  /**
   * one server only: each side's latency split into load wait, load time, time in the server and
   * time outside it (decomposition.ts), and the component the simulator gets most wrong
   */
  readonly decomposition?: { readonly real: Decomposition; readonly sim: Decomposition; readonly attribution: Attribution }
  /** only with instances ≥ 2: loads and copies on both sides */
  readonly cluster?: ClusterFigures
  /** goal: hit ratio within 2 points, p99 within 20 % (cluster: loads within 10 % too) */
  readonly goal: { readonly hitRatioPoints: number; readonly p99RelativeError: number; readonly met: boolean }
}


export interface ClusterFigures {
  readonly instances: number
  readonly memoryPerInstanceBytes: number
  readonly policies: { readonly placement: unknown; readonly routing: unknown; readonly scaling: unknown; readonly maxCopies: number }
  readonly real: {
    /** successful loads, all instances (/metrics, outcome="success") */
    readonly loads: number
    readonly loadsPerInstance: ReadonlyArray<number>
    /** most copies one model had at once, sampled from every instance's GET /v1/models (loaded there when the sample began) */
    readonly peakCopies: number
    readonly peakCopiesModel: string | null
    readonly peakTotalCopies: number
    /** most entries one model's shared copy map listed: stale entries of evicted copies included, so it may exceed maxCopies */
    readonly peakListedCopies: number
    readonly copySamples: number
  }
  /** the simulator's result has no copy counts: loads only */
  readonly sim: { readonly loads: number; readonly peakCopies: null }
  readonly loadsRelativeError: number
  readonly note: string
}
