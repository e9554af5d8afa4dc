/**
 * A one-line progress bar on stderr, only for a person at a terminal: silent when stderr is not
 * a TTY, under CI=true, or when the caller asks (--json).
 */
export interface ProgressState {
  readonly done: number
  readonly total: number
  /** requests simulated so far, all runs together */
  readonly requests: number
  readonly running: readonly string[]
  /** share of the whole work done, 0..1, running runs counted by their requests (default: done / total) */
  readonly fraction?: number
  /** the total is an estimate that may change (the planner's): drawn as "~N" */
  readonly estimatedTotal?: boolean
}

export interface Progress {
  update(s: ProgressState): void
  finish(): void
}

const silent: Progress = { update() {}, finish() {} }

export const progressBar = (opts: { readonly quiet?: boolean; readonly stream?: NodeJS.WriteStream } = {}): Progress => {
  const out = opts.stream ?? process.stderr
  const ci = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false"
  if (opts.quiet || ci || !out.isTTY) return silent
  const started = performance.now()
  let lastDraw = 0
  let drawn = false
  return {
    update(s) {
      const now = performance.now()
      if (now - lastDraw < 100 && s.done < s.total) return
      lastDraw = now
      const width = 24
      const filled = s.total > 0 ? Math.round((s.done / s.total) * width) : 0
      const secs = (now - started) / 1000
      const rate = secs > 0 ? s.requests / secs : 0
      const eta = timeLeft(secs, s.fraction ?? (s.total > 0 ? s.done / s.total : 0))
      const line =
        `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${s.done}/${s.estimatedTotal ? "~" : ""}${s.total} runs · ` +
        `${compact(s.requests)} requests · ${compact(rate)}/s` +
        (s.done < s.total ? (eta === undefined ? " · ETA …" : ` · ETA ${duration(eta)} of ~${duration(secs + eta)}`) : "") +
        (s.running.length > 0 ? ` · ${s.running.join(", ")}` : "")
      const cols = out.columns ?? 100
      out.write(`\r\x1b[2K${line.length > cols - 1 ? line.slice(0, cols - 2) + "…" : line}`)
      drawn = true
    },
    finish() {
      if (drawn) out.write("\r\x1b[2K")
    }
  }
}

const compact = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`

/**
 * Seconds left, extrapolating the elapsed time by the share done; undefined until there is
 * something to go on (1 % done and half a second elapsed), since an early guess is mostly noise.
 */
export const timeLeft = (elapsedSeconds: number, fraction: number): number | undefined => {
  if (!(fraction >= 0.01) || elapsedSeconds < 0.5) return undefined
  if (fraction >= 1) return 0
  return (elapsedSeconds * (1 - fraction)) / fraction
}

/** 7s, 1m05s, 2h03m */
export const duration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}
