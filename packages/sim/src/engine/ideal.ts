import { buildPolicy, makeRng, ModelCache, type Resident } from "@meshkit/core"
import { emptyTotals, toResult } from "../metrics/counters.js"
import type { RunOutput } from "../metrics/result.js"
import { TenantStats } from "../metrics/tenants.js"
import { Timeline } from "../metrics/timeline.js"
import type { Trace } from "../trace/types.js"
import { loadTimeMs, policyLabel, type SimConfig } from "./config.js"
import { ModelIndex } from "./model-index.js"
import { sharesFor } from "./shares.js"
import type { RunOptions } from "./run-options.js"
import { fastIdealPolicy, runIdealFast } from "./ideal-fast/index.js"


/**
 * Ideal mode: one cache of `cluster.memoryBytes`, zero load and execution time — a pure cache
 * replay through the same ModelCache and policy the server uses. A hit calls `cache.hit`; a miss
 * admits (a model larger than the cache is a miss that is not inserted, counted as failed) and
 * the load completes at once. So lru and fifo give the classic miss ratios exactly.
 * Every load counts as a cold start of zero seconds; latencies are all zero.
 * lru and fifo without tenant shares take the integer fast path (ideal-fast/run-fast.ts), which
 * gives the same results without a Resident or a string key per request (tested to be identical).
 */
export const runIdeal = (trace: Trace, cfg: SimConfig, opts: RunOptions = {}): Promise<RunOutput> => {
  // lru and fifo without tenant shares replay on integers, with the same results (ideal-fast/)
  const fast = fastIdealPolicy(cfg)
  return fast !== undefined ? runIdealFast(trace, cfg, fast, opts) : runIdealGeneral(trace, cfg, opts)
}

/** Every policy through ModelCache: the reference the fast path is tested against. */
export const runIdealGeneral = async (trace: Trace, cfg: SimConfig, opts: RunOptions = {}): Promise<RunOutput> => {
  const wall0 = performance.now()
  const capacity = cfg.cluster.memoryBytes
  // One cache standing for the cluster, not instance 0 of it: seeded with the run's seed itself,
  // as it always was (policyRng's eviction streams are per cluster instance), so results replay.
  const policy = buildPolicy("eviction", cfg.eviction, { rng: makeRng(cfg.seed), capacityBytes: capacity })
  const nextUse = opts.nextUse
  // the trace's recorded next accesses: the policy's clock is then the request's position
  const recorded = opts.recordedNextAccess === true
  const knowsNext = recorded || nextUse !== undefined
  if (policy.offline && nextUse === undefined && !recorded) throw new Error(`internal: offline policy ${policy.name} needs next-use times`)
  const shares = sharesFor(cfg.shares, capacity)
  const cache = new ModelCache(capacity, policy, shares ? { shares } : {})
  const tenants = new TenantStats()
  const models = new ModelIndex(trace.models, tenants, (size) => loadTimeMs(cfg.cluster, size))
  const ids = trace.models.ids
  const tenantNames = trace.models.tenants
  const entries: Array<Resident | undefined> = []
  // reused for every admission: the cache does not keep it
  const admit = { id: "", tenant: "", size: 0, loadCostMs: 0, pinned: false, nextUse: Infinity }
  const timeline = new Timeline()
  const tot = emptyTotals()
  const keepAlive = typeof policy.expired === "function"
  let expiryAt = Infinity
  let requests = 0
  let hits = 0
  let requestBytes = 0

  const refreshExpiry = (): void => {
    const next = policy.nextExpiry?.() ?? Infinity
    if (next < expiryAt) expiryAt = next
  }
  const expire = (t: number): void => {
    const gone = cache.expire(t)
    for (const v of gone) entries[models.indexOf(v.id)] = undefined
    tot.evictions += gone.length
    if (gone.length > 0) timeline.setMemory(t, cache.used)
    expiryAt = policy.nextExpiry?.() ?? Infinity
    // A due model that could not go (never here: nothing is busy) must not spin the loop.
    if (expiryAt <= t) expiryAt = t + 1
  }

  let g = 0
  let lastT = 0
  for await (const chunk of trace.chunks(recorded ? { nextAccess: true } : undefined)) {
    models.sync()
    while (entries.length < models.count) entries.push(undefined)
    const { timeMs, model } = chunk
    const vtime = chunk.vtime
    const nextVtime = chunk.nextVtime
    if (recorded && (vtime === undefined || nextVtime === undefined)) throw new Error(`internal: ${trace.name} sent a chunk without next accesses`)
    const size = models.size
    const tenantOf = models.tenant
    const tReq = tenants.requests
    const n = chunk.length
    if (n > 0 && requests === 0) timeline.start(timeMs[0]!)
    for (let i = 0; i < n; i++, g++) {
      const t = timeMs[i]!
      const m = model[i]!
      if (t >= expiryAt) expire(t)
      const bytes = size[m]!
      requests++
      requestBytes += bytes
      tReq[tenantOf[m]!]!++
      let clock = t
      let next = nextUse !== undefined ? nextUse[g]! : Infinity
      if (recorded) {
        clock = vtime![i]!
        next = nextVtime![i]!
      }
      const e = entries[m]
      if (e !== undefined) {
        if (knowsNext) e.nextUse = next
        cache.hit(e, clock)
        hits++
        if (keepAlive) refreshExpiry()
        continue
      }
      miss(t, m, clock, next)
    }
    if (n > 0) lastT = timeMs[n - 1]!
    opts.onProgress?.(requests)
  }

  function miss(t: number, m: number, clock: number, next: number): void {
    const tn = models.tenant[m]!
    const bytes = models.size[m]!
    tot.misses++
    tot.missedBytes += bytes
    tenants.misses[tn]!++
    admit.id = ids[m]!
    admit.tenant = tenantNames[m]!
    admit.size = bytes
    admit.loadCostMs = models.loadCostMs[m]!
    admit.nextUse = next
    const r = cache.admit(admit, clock)
    if (!r.ok) {
      tot.failed++
      tenants.withinSlo[tn]!-- // counted in below with every request: this one missed the SLO
      return
    }
    r.entry.loading = false
    entries[m] = r.entry
    for (const v of r.evicted) entries[models.indexOf(v.id)] = undefined
    tot.evictions += r.evicted.length
    tot.loads++
    tot.coldStarts++
    tenants.coldStarts[tn]!++
    timeline.coldStart(t)
    timeline.setMemory(t, cache.used)
    if (keepAlive) refreshExpiry()
  }

  tot.requests = requests
  tot.hits = hits
  tot.requestBytes = requestBytes
  tot.withinSlo = requests - tot.failed
  // zero latency: every request that was served met the SLO
  for (let i = 0; i < tenants.names.length; i++) tenants.withinSlo[i]! += tenants.requests[i]!
  const mean = timeline.finish(lastT)
  const wallSeconds = (performance.now() - wall0) / 1000
  return {
    result: toResult(
      policyLabel(cfg.eviction),
      tot,
      { p50: 0, p90: 0, p99: 0, p999: 0 },
      { peak: timeline.peakBytes, mean },
      tenants.results(shares),
      wallSeconds
    ),
    series: { latencyCdf: [], timeline: timeline.series() }
  }
}
