/**
 * The replay report (`meshkit bench replay --out FILE`): per side (base = the --against build,
 * new = the working tree), latency percentiles overall and per tenant, hit ratio, cold starts,
 * errors; the scenario's regression thresholds ride along so `bench compare` can judge the file
 * on its own. JSON, versioned by `kind`.
 */
export const REPLAY_KIND = "meshkit-bench-replay/v1"

export interface LatencyUs {
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
  readonly mean: number
}

export interface ReplaySide {
  /** what ran: "working tree (DIR)", "build at DIR", or the server's URL */
  readonly label: string
  readonly requests: number
  readonly ok: number
  /** failed requests: non-2xx answers and connection errors */
  readonly errors: number
  readonly statuses: Readonly<Record<string, number>>
  readonly latencyUs: LatencyUs
  readonly tenants: ReadonlyArray<{ readonly tenant: string; readonly requests: number; readonly latencyUs: LatencyUs }>
  /** model loads during the replay (the server's /metrics), null when it does not say */
  readonly coldStarts: number | null
  /** 1 − cold starts ÷ requests; null without cold starts */
  readonly hitRatio: number | null
  /** [latency µs, fraction ≤] */
  readonly cdf: ReadonlyArray<readonly [number, number]>
  readonly failureSamples: ReadonlyArray<string>
  /** latency percentiles of each slice, in replay order (the gate compares slice by slice) */
  readonly slices?: ReadonlyArray<{ readonly p50: number; readonly p99: number; readonly p999: number }>
}

export interface ReplayThresholds {
  readonly p50?: string
  readonly p99?: string
  readonly p999?: string
  readonly coldStarts?: string
  readonly hitRatio?: string
  readonly errors?: number
}

export interface ReplayReport {
  readonly kind: typeof REPLAY_KIND
  readonly scenario: string
  readonly generatedAt: string
  readonly command: string
  readonly settings: {
    readonly minutes: number
    readonly durationSeconds: number
    readonly compress: number
    readonly slices: number
    readonly requests: number
    readonly models: number
    readonly memoryBytes: number | null
    readonly eviction: string
    readonly generatedModels: boolean
    readonly loadAverage: number
  }
  readonly thresholds: ReplayThresholds
  readonly new: ReplaySide
  /** absent without --against */
  readonly base?: ReplaySide
}

/** A parsed file is a replay report when it says so. */
export const isReplayReport = (v: unknown): v is ReplayReport => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === REPLAY_KIND
