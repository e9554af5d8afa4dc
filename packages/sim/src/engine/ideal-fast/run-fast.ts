import { buildPolicy, makeRng } from "@meshkit/core"
import { emptyTotals, toResult } from "../../metrics/counters.js"
import type { RunOutput } from "../../metrics/result.js"
import { TenantStats } from "../../metrics/tenants.js"
import { Timeline } from "../../metrics/timeline.js"
import type { Trace } from "../../trace/types.js"
import { policyLabel, type SimConfig } from "../config.js"
import type { RunOptions } from "../run-options.js"
import type { FastIdealPolicy } from "./qualifies.js"
import { RecencyList } from "./recency-list.js"

/**
 * Ideal-mode replay of lru and fifo on integers: the same results as ideal.ts (ModelCache + the
 * policy) counter for counter, at several times its speed, so that cache-research traces of tens
 * of millions of requests replay about as fast as libCacheSim does.
 *
 * Why a second path: the general one pays, per request, a Resident object lookup and a policy
 * call through an interface, and per miss a Resident allocation, a string-keyed Map insert in
 * ModelCache, a victims array and a string Map lookup per victim. In ideal mode nothing is ever
 * loading, serving or pinned and (without tenant shares) every resident may go, so ModelCache's
 * rules reduce to: a model larger than the capacity is a miss that is not admitted; otherwise
 * evict from the policy's tail until the model fits, then insert it at the head. For lru and fifo
 * the policy's whole state is one recency list, here two Int32Arrays indexed by the trace's own
 * model integers (the oracleGeneral reader already interns uint64 ids to them without a Map).
 * fifo is lru without the move on a hit. Policies with more state (sieve's hand, s3fifo's
 * queues, gdsf's heap) stay on the general path: their exactness lives in core.
 *
 * The fast-vs-general property test (test/ideal-fast-path.test.ts) keeps the two identical.
 */
export const runIdealFast = async (trace: Trace, cfg: SimConfig, kind: FastIdealPolicy, opts: RunOptions = {}): Promise<RunOutput> => {
  const wall0 = performance.now()
  const capacity = cfg.cluster.memoryBytes
  if (!(capacity > 0)) throw new RangeError(`cache capacity must be > 0 bytes, got ${capacity}`)
  // built only to validate its options as the general path does (lru and fifo take none)
  buildPolicy("eviction", cfg.eviction, { rng: makeRng(cfg.seed), capacityBytes: capacity })
  const moveOnHit = kind === "lru"
  const table = trace.models
  const tenants = new TenantStats()
  const list = new RecencyList()
  let size = new Float64Array(1024)
  let tenantOf = new Int32Array(1024)
  let known = 0
  const sync = (): void => {
    const n = table.ids.length
    if (n === known) return
    list.ensure(n)
    if (n > size.length) {
      let cap = size.length
      while (cap < n) cap *= 2
      const s = new Float64Array(cap)
      s.set(size)
      size = s
      const t = new Int32Array(cap)
      t.set(tenantOf)
      tenantOf = t
    }
    const sizes = table.sizes
    const names = table.tenants
    let lastName = ""
    let lastId = -1
    for (let i = known; i < n; i++) {
      size[i] = sizes[i]!
      const name = names[i]!
      // traces often give runs of models one tenant (oracleGeneral: all of them)
      if (name !== lastName || lastId < 0) {
        lastName = name
        lastId = tenants.idOf(name)
      }
      tenantOf[i] = lastId
    }
    known = n
  }

  const timeline = new Timeline()
  const tot = emptyTotals()
  let requests = 0
  let hits = 0
  let requestBytes = 0
  let misses = 0
  let missedBytes = 0
  let failed = 0
  let loads = 0
  let evictions = 0
  let used = 0
  let lastT = 0

  for await (const chunk of trace.chunks()) {
    sync()
    const { timeMs, model } = chunk
    const n = chunk.length
    const tReq = tenants.requests
    const tMiss = tenants.misses
    const tCold = tenants.coldStarts
    const tWithin = tenants.withinSlo
    const has = list.has
    // locals, not the closure's (sync may have replaced the arrays before this chunk)
    const sizeOf = size
    const tenantIdx = tenantOf
    if (n > 0 && requests === 0) timeline.start(timeMs[0]!)
    for (let i = 0; i < n; i++) {
      const m = model[i]!
      const bytes = sizeOf[m]!
      const tn = tenantIdx[m]!
      requestBytes += bytes
      tReq[tn]!++
      if (has[m] === 1) {
        hits++
        if (moveOnHit) list.moveToHead(m)
        continue
      }
      misses++
      missedBytes += bytes
      tMiss[tn]!++
      if (bytes > capacity) {
        // too large: a miss that is not admitted and nothing is evicted for it
        failed++
        tWithin[tn]!--
        continue
      }
      while (used + bytes > capacity) {
        used -= sizeOf[list.popTail()]!
        evictions++
      }
      list.pushHead(m)
      used += bytes
      loads++
      tCold[tn]!++
      const t = timeMs[i]!
      timeline.coldStart(t)
      timeline.setMemory(t, used)
    }
    requests += n
    if (n > 0) lastT = timeMs[n - 1]!
    opts.onProgress?.(requests)
  }

  tot.requests = requests
  tot.hits = hits
  tot.misses = misses
  tot.missedBytes = missedBytes
  tot.failed = failed
  tot.loads = loads
  tot.coldStarts = loads
  tot.evictions = evictions
  tot.requestBytes = requestBytes
  tot.withinSlo = requests - failed
  for (let i = 0; i < tenants.names.length; i++) tenants.withinSlo[i]! += tenants.requests[i]!
  const mean = timeline.finish(lastT)
  const wallSeconds = (performance.now() - wall0) / 1000
  return {
    result: toResult(policyLabel(cfg.eviction), tot, { p50: 0, p90: 0, p99: 0, p999: 0 }, { peak: timeline.peakBytes, mean }, tenants.results(undefined), wallSeconds),
    series: { latencyCdf: [], timeline: timeline.series() }
  }
}
