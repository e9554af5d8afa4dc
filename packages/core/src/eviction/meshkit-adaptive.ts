import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { ModelId, Resident, TenantId } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"
import type { ClusterSignal } from "./cluster-signal.js"
import { adaptiveMix, AdaptiveMixOptions, defaultAdaptiveMix } from "./adaptive-mix.js"
import { gdsf } from "./gdsf.js"
import { lfu } from "./lfu.js"
import { lru } from "./lru.js"
import { nextArrival, NextArrivalOptions, noteArrival, type Gaps } from "./next-arrival.js"
import { makeRng } from "../rng.js"
import { s3fifo } from "./s3fifo.js"
import { sieve } from "./sieve.js"

const Expert = Schema.Literal("mix", "blend", "lru", "gdsf", "gdsf-uniform", "s3fifo", "sieve", "lfu", "next-arrival")
type Expert = typeof Expert.Type

export const MeshkitAdaptiveOptions = Schema.Struct({
  /** the policies it follows (the first leads until the scores say otherwise) */
  experts: Schema.optionalWith(Schema.Array(Expert).pipe(Schema.minItems(1), Schema.maxItems(8)), {
    default: () => ["next-arrival", "mix", "gdsf", "lru", "s3fifo", "sieve"] as const
  }),
  /**
   * half-life of the experts' miss scores, in requests seen by this cache (measured on the shipped
   * scenarios' ideal-mode cells within 1 %: 30 k → 35, 40 k → 37, 60 k and 80 k → 36 of 39)
   */
  halfLife: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 40_000 }),
  /** a challenger leads once its score is this share below the leader's (no flapping on ties) */
  hysteresis: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.5)), { default: () => 0.02 }),
  /**
   * ... and, when the scores are sampled (small counts), its lead in misses is this many standard
   * deviations of the noise: √(requests on which exactly one of the two missed), a sign test
   */
  confidence: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0)), { default: () => 3 }),
  /**
   * requests before the first switch away from the first expert: every scoring cache is filling
   * at first, and in a cluster whoever leads early keeps the traffic it attracted (see below)
   */
  warmup: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0)), { default: () => 1000 }),
  /** models a scoring cache should hold: above twice that many residents, they follow a hashed sample */
  sample: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(16)), { default: () => 512 }),
  /**
   * the expert that runs the cache for good once requests find their models loading (a cluster,
   * or a server with real loads: there the scores are biased, see below); "none": keep the leader
   */
  withLoads: Schema.optionalWith(Schema.Union(Expert, Schema.Literal("none")), { default: () => "lru" as const }),
  /** what a scoring miss costs: 1 (the miss ratio) or the model's load time */
  cost: Schema.optionalWith(Schema.Literal("uniform", "load"), { default: () => "uniform" as const }),
  /**
   * with a cluster signal (the simulator's full mode): once real loads are seen, follow the
   * expert the cluster-wide scores choose (lru, gdsf or next-arrival, see the header) instead
   * of `withLoads`
   */
  cluster: Schema.optionalWith(Schema.Literal("follow", "off"), { default: () => "follow" as const }),
  /** ... gdsf is chosen there when its cluster-wide misses are this share below lru's (see the header) */
  clusterMargin: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.5)), { default: () => 0.07 }),
  /** half-life of the cluster-wide scores, in requests the cluster receives per instance */
  clusterHalfLife: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 80_000 }),
  /**
   * ... next-arrival is chosen there when it misses this share fewer than lru on scoring caches
   * partitioned as the cluster is (and passes the sign test; half of it to stay)...
   */
  nextArrivalMargin: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.9)), { default: () => 0.005 }),
  /** ... and its missed bytes on the cluster-sized ones are at most this multiple of lru's */
  nextArrivalBytes: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0)), { default: () => 1.1 })
})
export type MeshkitAdaptiveOptions = typeof MeshkitAdaptiveOptions.Type

/** the mix without its probation queue: main's learned blend of LRU and GDSF orders alone */
const BLEND = Schema.decodeSync(AdaptiveMixOptions)({ probation: 0, minProbation: 0, maxProbation: 0, adaptStep: 0 })
/** real loads: more than 1 / BUSY_LIMIT of the requests found their model loading (see `withLoads`) */
const BUSY_LIMIT = 1000

/**
 * meshkit-adaptive: follow the best of several classic policies, as measured on this very cache's
 * request stream. The real cache is run by one expert, the leader (at first the first one,
 * next-arrival — ./next-arrival.ts, a forecast of each model's next request from its gaps, the
 * best online policy, or within 1 % of it, in 26 of the shipped scenarios' 39 ideal-mode cells;
 * the others by default are "mix" (./adaptive-mix.ts, S3-FIFO's probation in front of a learned blend of LRU and GDSF
 * orders, which was meshkit-adaptive before), gdsf, lru, s3fifo and sieve; lfu, gdsf with uniform
 * cost, and "blend", the mix without probation, on request). Leading with next-arrival instead
 * of the mix took the ideal-mode cells within 1 % from 35 to 37 of 39, and costs a pure scan 7 %
 * more misses while the scores learn to switch to the mix (measured, see the tests).
 * Each expert, the leader included, also runs
 * a scoring cache that holds only metadata: every request the real cache sees (hit or insert) is
 * replayed on it, and it hits or misses and evicts as that policy would. Each keeps a miss score
 * that decays with a half-life of `halfLife` requests, so the scores say which policy would have
 * missed least on the recent traffic — a frequency-heavy trace (Azure) crowns GDSF or S3-FIFO,
 * on/off bursts LRU, a large cache SIEVE — and they follow the trace when its phase changes: a
 * regret-style "follow the leader" over experts (cf. LeCaR/ARC's ghosts, but the ghosts are
 * whole simulated caches, so the comparison is exact rather than a heuristic). A challenger takes
 * the lead when its score is `hysteresis` below the leader's and its lead in misses exceeds
 * `confidence` standard deviations of the noise — √(requests on which exactly one of the two
 * missed), a sign test: sampled scores are small counts, and near-ties must not make it flap
 * (each switch costs a rebuild and the leader's learnt state). The real cache is then handed to a
 * fresh instance of the new leader, which is told about every resident in order of last use
 * (with up to 15 of its hits replayed, so frequency-based experts keep a memory).
 *
 * Miniature simulation (Waldspurger et al., ATC '17, as in SHARDS): once the real cache is full
 * with more than 2 × `sample` models, the scoring caches follow only the models whose id hash
 * falls in a 1 / 2^s sample (2^s the largest power of two that keeps ≥ `sample` models), with
 * 1 / 2^s of the capacity. Their miss ratios estimate the full caches' ones, and a request outside
 * the sample costs one hash beyond the leader's own work — that is what makes it cheap on large
 * caches. Small caches (the simulator's scenarios) are scored exactly.
 *
 * With real loads (a cluster, or a server): the scoring caches model a cache that sees all of its
 * models' traffic and loads at once (one cache, the simulator's ideal mode). In a cluster neither
 * holds: a cache sees the requests routed to it because of what it holds, so its own scores
 * favour whoever leads (measured: with switching left on there, the first expert kept the lead in
 * nearly every cell, and weighting challengers' unseen hits up made it switch to worse experts).
 * So once more than 1 in BUSY_LIMIT requests found its model still loading, it stops scoring its
 * own stream and:
 *  - given the cluster's request stream (BuildContext.cluster, a ClusterSignal: the simulator's
 *    full mode feeds it every arrival before routing; a standalone server, all of its requests
 *    as a one-instance cluster's, server/src/instance `ownTraffic`; a server in a cluster has
 *    none yet), follows the cluster's choice, made once for all instances on
 *    unbiased scores: lru, gdsf (load cost) and next-arrival scoring caches as large as the whole
 *    cluster (instances × capacity) replay every request the cluster receives (sampled as above,
 *    with a half-life of `clusterHalfLife` requests per instance), scoring missed bytes; beside
 *    them lru and next-arrival replay it on caches partitioned as the cluster is (one per
 *    instance, a missing model placed as ModelMesh places it: PartitionedScores below). The
 *    choice is next-arrival while it misses `nextArrivalMargin` fewer than lru on the partitioned
 *    caches (and passes the sign test above; half the margin to stay) and its missed bytes on
 *    the big ones are at most `nextArrivalBytes` × lru's; else gdsf when it misses `clusterMargin`
 *    fewer than lru (sign test too: a cluster's first minutes are few requests and unlike the
 *    rest; half the margin keeps it), or when lru's cluster-wide cache never had to evict in ten
 *    warm-ups (no memory pressure: the cluster holds every model asked for, and the cost-aware
 *    order keeps the expensive ones through the replicas' churn); else lru.
 *    Why these three, and why lru by default: in a cluster the N caches hold N caches' worth,
 *    where recency wins (lru was within 1 % of the best online policy in 25 of the shipped
 *    scenarios' 38 full-mode cells before next-arrival, gdsf next, no other in more than 15);
 *    where it does not, frequency with load cost (gdsf) or a forecast of the next request
 *    (next-arrival: steady, periodic traffic such as Azure's) won. The scan-resistant experts
 *    (s3fifo, sieve, the mix) that win one big cache lose in a cluster, whose replicas and
 *    scale-downs are a churn of their own. Why partitions for next-arrival: N lru caches under
 *    ModelMesh's placement (the instance whose least recently used model is oldest) behave as
 *    one lru cache N times as large (full-mode miss ratios equal the big cache's within 1 % on
 *    the default scenario), N next-arrival caches do not (they miss 1.1–1.5× what one big cache
 *    would at 2–8 GiB per instance), so the big cache flattered next-arrival and needed a 10 %
 *    margin, which kept it from the cells where it wins by a few %; the partitioned caches
 *    predict its full-mode misses closely enough for a 0.5 % margin. Why the bytes bound:
 *    next-arrival, like Belady-size, gives up large models first; where that costs 10 % more
 *    missed bytes than lru (on/off bursts at 4 GiB per instance: 0.81 × lru's misses, 1.14 × its
 *    bytes), the load queue pays for it (+32 % cold-start seconds). Where gdsf's cluster-wide
 *    misses were 7 % or more below lru's, gdsf won in full mode, and lru where they were less
 *    (ratios 0.54–0.92 against 0.94–21). Each instance hands its cache over (as on a switch)
 *    when the choice changes; a next-arrival taking over gets the gaps learnt from this cache's
 *    requests since it settled (a fresh one knows none and ranks like lru until it has).
 *  - without one (a server in a cluster, or `cluster: "off"`), hands the cache to `withLoads` (lru) for
 *    good, which also makes it cost what that expert costs; "none" keeps the leader.
 * No switch in the first `warmup` requests either (while every scoring cache is filling). The
 * simulator's ideal mode never sees a load.
 *
 * Cost: a request is the leader's own operation, one hash and, for sampled models, one operation
 * on each of the k scoring caches (O(log n) for the heap-based experts; next-arrival: O(1), and a
 * fixed 64 samples per victim): O(k log n) at worst; a switch is O(n log n) and rare
 * (hysteresis). The cluster's choice: per cluster request, one hash and an operation on each of
 * its five scoring caches (a miss on a partitioned one looks at each instance's partition once);
 * per instance request, one comparison and, while following, a gap update. Memory: one record
 * per sampled model a scoring cache holds, and next-arrival's gap per model. Deterministic: no
 * clock, and next-arrival's samples come from random streams seeded in the order the experts
 * are made.
 */
export const meshkitAdaptive = (options: MeshkitAdaptiveOptions, capacityBytes: number, cluster?: ClusterSignal): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`meshkit-adaptive needs the cache capacity in bytes, got ${capacityBytes}`)
  const make = expertMaker(capacityBytes)
  const experts = options.experts
  const k = experts.length
  const scoring = k > 1
  const sc = scoring ? new ScoringCaches(experts.map((x) => make(x)), capacityBytes, options.halfLife, options.cost === "load" ? "load" : "misses", options.sample) : undefined
  const shadows = sc?.shadows ?? []
  const keep = 1 - options.hysteresis
  const z2 = options.confidence * options.confidence
  const warmup = options.warmup
  const withLoads = options.withLoads === "none" ? undefined : options.withLoads
  /** the cluster's choice, followed once real loads are seen (see the header) */
  const choice = cluster !== undefined && options.cluster === "follow" ? clusterChoice(cluster, options) : undefined
  /** true once real loads handed the cache to `withLoads` (or the cluster's choice) */
  let settled = false
  /** the cluster choice's version the real cache runs (-1: not following it) */
  let following = -1
  /** the real cache's residents, handed to a new leader on a switch */
  const residents = new Set<Resident>()
  let real = make(experts[0]!)
  let leader = 0
  /** which expert runs the real cache now (Eviction.running) */
  let runs: string = experts[0]!
  /**
   * following the cluster's choice: each model's gaps between requests, learnt as next-arrival
   * learns them while another expert runs the cache, so that a next-arrival taking over starts
   * with them (a fresh one knows none, and ranks like lru until it has learnt them)
   */
  const gaps = new Map<ModelId, Gaps>()
  let seen = 0
  /** requests that found their model still loading (see the header: no switch while they are frequent) */
  let busyHits = 0
  // sampling: decided when the real cache first fills (mask 0: every model is scored)
  let decided = !scoring

  /** hand the real cache to a fresh instance of expert j */
  const switchTo = (j: number): void => {
    // disagreements are counted against the leader: the old one's with the new one are the new
    // one's with it; for the others, the larger of the two stands in for theirs
    const between = shadows[j]!.split
    for (let m = 0; m < k; m++) shadows[m]!.split = m === leader ? between : Math.max(shadows[m]!.split, between)
    shadows[j]!.split = 0
    leader = j
    sc!.leader = j
    runs = experts[j]!
    handOver(make(experts[j]!))
  }

  /** the real cache is run by `next` from now on: it is told every resident, oldest first */
  const handOver = (next: EvictionPolicy): void => {
    real = next
    const order = [...residents].sort((a, b) => a.lastUsed - b.lastUsed || a.insertedAt - b.insertedAt)
    for (const e of order) {
      real.onInsert(e, e.lastUsed)
      for (let h = Math.min(e.hits, 16); h > 1; h--) real.onHit(e, e.lastUsed)
    }
  }

  /** real loads seen: hand the cache to the cluster's choice, else `withLoads`, and stop scoring */
  const settle = (): void => {
    settled = true
    decided = true
    sc!.clear()
    if (choice !== undefined) return follow()
    if (withLoads !== experts[leader]) handOver(make(withLoads!))
    runs = withLoads!
    residents.clear()
  }

  /** run the real cache by the cluster's current choice */
  const follow = (): void => {
    following = choice!.version
    runs = choice!.expert
    handOver(choice!.expert === "next-arrival" ? make("next-arrival", gaps) : make(choice!.expert))
  }

  /** a request while following the cluster's choice: its gap, for a next-arrival to come */
  const learnGap = (id: ModelId, now: number): void => {
    const a = gaps.get(id)
    if (a !== undefined) return noteArrival(a, now, NEXT_ARRIVAL.gapWeight)
    gaps.set(id, { last: now, gap: NaN })
    // bounded as next-arrival bounds its own history: past the limit, the half requested longest ago goes
    const limit = Math.max(1024, NEXT_ARRIVAL.history * residents.size)
    if (gaps.size <= limit) return
    const lasts = [...gaps.values()].map((g) => g.last).sort((x, y) => x - y)
    const cut = lasts[Math.floor(lasts.length / 2)]!
    for (const [m, g] of gaps) if (g.last <= cut) gaps.delete(m)
  }

  /** one request seen by the real cache: score it (if sampled), re-elect */
  const observe = (e: Resident, now: number): void => {
    seen++
    if (!sc!.observe(e.id, e.tenant, e.size, e.loadCostMs, now)) return
    const lead = shadows[leader]!
    // only the leader's misses can make a challenger better than it
    if (seen <= warmup || !lead.missed || busyHits * BUSY_LIMIT > seen) return
    let best = leader
    let bestScore = lead.score * keep
    const inc = sc!.inc
    for (let j = 0; j < k; j++) {
      const sh = shadows[j]!
      const ahead = lead.misses - sh.misses
      if (sh.score < bestScore && ahead > 0 && (sc!.mask === 0 || ahead * ahead > z2 * sh.split * inc)) {
        best = j
        bestScore = sh.score
      }
    }
    if (best !== leader) switchTo(best)
  }

  return {
    name: "meshkit-adaptive",
    running: () => runs,
    onInsert(e, now) {
      real.onInsert(e, now)
      if (!scoring) return
      if (settled) {
        if (following < 0) return
        residents.add(e)
        learnGap(e.id, now)
        if (following !== choice!.version) follow()
        return
      }
      residents.add(e)
      observe(e, now)
    },
    onHit(e, now) {
      real.onHit(e, now)
      if (!scoring) return
      if (settled) {
        if (following < 0) return
        learnGap(e.id, now)
        if (following !== choice!.version) follow()
        return
      }
      if (e.loading && ++busyHits * BUSY_LIMIT > seen && (withLoads !== undefined || choice !== undefined)) return settle()
      observe(e, now)
    },
    onResize(e, oldSize) {
      real.onResize?.(e, oldSize)
      if (scoring && !settled) sc!.resize(e.id, e.size)
    },
    onRemove(e) {
      real.onRemove(e)
      if (scoring && (!settled || following >= 0)) residents.delete(e)
    },
    chooseVictims(need, now, evictable) {
      if (!decided) {
        decided = true
        sc!.decideSampling(residents.size)
      }
      return real.chooseVictims(need, now, evictable)
    }
  }
}

const NEXT_ARRIVAL = Schema.decodeSync(NextArrivalOptions)({})

/**
 * builds a fresh instance of an expert for a cache of `capacityBytes` (next-arrival samples its
 * victims: each instance gets its own random stream, seeded by the order they are made in)
 */
const expertMaker = (capacityBytes: number) => {
  let made = 0
  /** `learnt`: gaps a next-arrival starts with */
  return (x: Expert, learnt?: ReadonlyMap<ModelId, Gaps>): EvictionPolicy => {
    switch (x) {
      case "next-arrival":
        return nextArrival(NEXT_ARRIVAL, makeRng(0x5eed + made++), learnt)
      case "mix":
        return defaultAdaptiveMix(capacityBytes)
      case "blend":
        return adaptiveMix(BLEND, capacityBytes)
      case "lru":
        return lru()
      case "gdsf":
        return gdsf({ cost: "load" })
      case "gdsf-uniform":
        return gdsf({ cost: "uniform" })
      case "s3fifo":
        return s3fifo({ smallFraction: 0.1, ghostFraction: 0.9, promoteAt: 2 }, capacityBytes)
      case "sieve":
        return sieve()
      case "lfu":
        return lfu()
    }
  }
}

/** The expert the cluster's scores choose for its instances' caches (shared by all of them). */
interface ClusterChoice {
  expert: "lru" | "gdsf" | "next-arrival"
  /** bumped on every change of `expert` */
  version: number
}

/**
 * One per cluster (ClusterSignal.shared): lru, gdsf and next-arrival scored on every request the
 * cluster receives, on scoring caches as large as the whole cluster (instances × capacity): see
 * the header. Scores are missed bytes; misses are kept beside them for gdsf's rule.
 */
const clusterChoice = (cluster: ClusterSignal, options: MeshkitAdaptiveOptions): ClusterChoice =>
  cluster.shared("meshkit-adaptive/cluster-choice", () => {
    const n = cluster.instances
    const total = n * cluster.capacityBytes
    const make = expertMaker(total)
    const sc = new ScoringCaches([make("lru"), make("gdsf"), make("next-arrival")], total, options.clusterHalfLife * n, "bytes", options.sample)
    const [byLru, byGdsf, byNext] = sc.shadows as [Shadow, Shadow, Shadow]
    const choice: ClusterChoice = { expert: "lru", version: 0 }

    const parts = new PartitionedScores(n, cluster.capacityBytes, options.clusterHalfLife * n)
    const maxBytes = options.nextArrivalBytes
    const margin = options.clusterMargin
    const nextMargin = options.nextArrivalMargin
    const z2 = options.confidence * options.confidence
    const warmup = options.warmup * n
    let seen = 0
    cluster.listen((id, tenant, size, loadCostMs, now) => {
      seen++
      if (!sc.decided && sc.full(size)) {
        sc.decideSampling(sc.held)
        // a sample of the models from now on: the partitioned caches start over on it
        if (sc.mask !== 0) parts.restart(1 / (sc.mask + 1))
      }
      if (!sc.observe(id, tenant, size, loadCostMs, now)) return
      parts.observe(id, tenant, size, loadCostMs, now)
      if (seen <= warmup) return
      // next-arrival while its missed bytes are clearly below lru's (by its margin, half of it
      // to stay); else gdsf when there is no pressure (lru never had to evict over ten warm-ups:
      // the cluster holds every model it was asked for), or while it misses clearly less than lru
      // (by the margin, half of it to stay; to switch, also by a sign test as for a local switch:
      // a cluster's first minutes are few requests, and unlike the rest); else lru
      const was = choice.expert
      const ahead = byLru.misses - byGdsf.misses
      const naAhead = parts.lruMisses - parts.naMisses
      const nextWins =
        parts.naMisses < parts.lruMisses * (1 - (was === "next-arrival" ? nextMargin / 2 : nextMargin)) &&
        (was === "next-arrival" || naAhead * naAhead > z2 * parts.split * parts.inc) &&
        byNext.score <= byLru.score * maxBytes
      const want: ClusterChoice["expert"] =
        nextWins
          ? "next-arrival"
          : (byLru.evictions === 0 && seen > NO_PRESSURE_WARMUPS * warmup) ||
              (byGdsf.misses < byLru.misses * (1 - (was === "gdsf" ? margin / 2 : margin)) && (was === "gdsf" || ahead * ahead > z2 * byGdsf.split * sc.inc))
            ? "gdsf"
            : "lru"
      if (want !== choice.expert) {
        choice.expert = want
        choice.version++
      }
    })
    return choice
  })

/** A model held by one partition of a PartitionedScores expert. */
interface PartEntry extends Resident {
  part: number
  /** recency list of its partition (newest first) */
  newer: PartEntry | undefined
  older: PartEntry | undefined
}

interface Partition {
  readonly policy: EvictionPolicy
  used: number
  newest: PartEntry | undefined
  oldest: PartEntry | undefined
}

/**
 * lru and next-arrival scored on the cluster as it is, N instance-sized caches, not one big one: a
 * model held by none of an expert's partitions is placed as ModelMesh places it (the partition
 * with the most room, if one has room; else the one whose least recently used model is the
 * oldest), and evicts there by that expert. Decayed misses, and `split` (requests exactly one of
 * the two missed) for a sign test. Plain code: a hit is a map look-up and a list move; a miss
 * looks at each partition once (O(instances)) and at the expert's victims.
 */
class PartitionedScores {
  lruMisses = 0
  naMisses = 0
  split = 0
  inc = 1
  private experts: Partition[][] = []
  private readonly where = new Map<ModelId, [PartEntry | undefined, PartEntry | undefined]>()
  private cap: number
  private readonly growth: number

  constructor(
    private readonly n: number,
    private readonly capacityBytes: number,
    halfLife: number
  ) {
    this.growth = Math.pow(2, 1 / halfLife)
    this.cap = capacityBytes
    this.restart(1)
  }

  /** start over on a sample of `fraction` of the models (each partition scaled alike) */
  restart(fraction: number): void {
    const make = expertMaker(this.capacityBytes * fraction)
    this.cap = this.capacityBytes * fraction
    this.experts = (["lru", "next-arrival"] as const).map((x) => Array.from({ length: this.n }, () => ({ policy: make(x), used: 0, newest: undefined, oldest: undefined })))
    this.where.clear()
    this.lruMisses = this.naMisses = this.split = 0
    this.inc = 1
  }

  observe(id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number): void {
    this.inc *= this.growth
    if (this.inc > RESCALE_AT) {
      this.lruMisses /= this.inc
      this.naMisses /= this.inc
      this.split /= this.inc
      this.inc = 1
    }
    let rec = this.where.get(id)
    if (rec === undefined) {
      rec = [undefined, undefined]
      this.where.set(id, rec)
    }
    const lruMissed = this.request(0, rec, id, tenant, size, loadCostMs, now)
    const naMissed = this.request(1, rec, id, tenant, size, loadCostMs, now)
    if (lruMissed) this.lruMisses += this.inc
    if (naMissed) this.naMisses += this.inc
    if (lruMissed !== naMissed) this.split += this.inc
    if (rec[0] === undefined && rec[1] === undefined) this.where.delete(id)
  }

  /** replay one request on expert x's partitions; true on a miss */
  private request(x: number, rec: [PartEntry | undefined, PartEntry | undefined], id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number): boolean {
    const parts = this.experts[x]!
    const held = rec[x]
    if (held !== undefined) {
      const p = parts[held.part]!
      if (now > held.lastUsed) held.lastUsed = now
      held.hits++
      unlink(p, held)
      pushNewest(p, held)
      p.policy.onHit(held, now)
      return false
    }
    if (size > this.cap) return true
    // ModelMesh's placement: the most room if some partition has room, else the oldest LRU
    let q = -1
    let room = -1
    let oldest = -1
    let oldestAt = Infinity
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      const free = this.cap - p.used
      if (free >= size && free > room) {
        room = free
        q = i
      }
      const at = p.oldest?.lastUsed ?? -Infinity
      if (at < oldestAt) {
        oldestAt = at
        oldest = i
      }
    }
    if (q < 0) q = oldest
    const p = parts[q]!
    const need = p.used + size - this.cap
    if (need > 0) {
      const victims = p.policy.chooseVictims(need, now, always)
      let freed = 0
      for (let i = 0; i < victims.length && freed < need; i++) {
        const v = victims[i] as PartEntry
        freed += v.size
        p.policy.onRemove(v)
        p.used -= v.size
        unlink(p, v)
        const vr = this.where.get(v.id)
        if (vr !== undefined) {
          vr[x] = undefined
          if (vr[0] === undefined && vr[1] === undefined) this.where.delete(v.id)
        }
      }
    }
    const e: PartEntry = {
      lastUsed: now, hits: 1, slot: undefined, size, inFlight: 0, loading: false, pinned: false, id, tenant, loadCostMs, insertedAt: now, nextUse: Infinity,
      part: q, newer: undefined, older: undefined
    }
    rec[x] = e
    p.used += size
    pushNewest(p, e)
    p.policy.onInsert(e, now)
    return true
  }
}

const unlink = (p: Partition, e: PartEntry): void => {
  if (e.newer) e.newer.older = e.older
  else p.newest = e.older
  if (e.older) e.older.newer = e.newer
  else p.oldest = e.newer
  e.newer = e.older = undefined
}

const pushNewest = (p: Partition, e: PartEntry): void => {
  e.older = p.newest
  e.newer = undefined
  if (p.newest) p.newest.newer = e
  else p.oldest = e
  p.newest = e
}

/** no memory pressure in the cluster: its lru scoring cache never evicted in this many warm-ups */
const NO_PRESSURE_WARMUPS = 10

export const meshkitAdaptivePolicy = definePolicy({
  name: "meshkit-adaptive",
  family: "eviction",
  description:
    "meshkit's own: scores its experts (an LRU/GDSF/probation mix, gdsf, lru, s3fifo, sieve, next-arrival) on miniature caches replaying its requests and runs the cache by the one with the fewest recent misses; in a cluster, by the choice the cluster-wide scores make.",
  options: MeshkitAdaptiveOptions,
  make: (o, ctx: BuildContext) => meshkitAdaptive(o, ctx.capacityBytes ?? NaN, ctx.cluster)
})

// ---------------------------------------------------------------------------------------------
/**
 * The scoring caches (the header above explains what they are for): one metadata-only cache per
 * expert, each replaying the requests it is shown, hitting, missing and
 * evicting as that expert would, with decayed miss scores. Used twice: on one cache's own requests
 * (the policy's local scores), and on the whole cluster's requests (a ClusterSignal's, see
 * ./cluster-signal.ts). Plain synchronous code: O(k log n) per scored request, no allocation on a hit.
 */

/** A model held by some scoring cache: which of them hold it. */
interface Rec {
  readonly id: ModelId
  /** per expert: its scoring cache's entry, while that expert would hold the model */
  readonly shadow: Array<ShadowEntry | undefined>
  /** how many scoring caches hold it (0: forgotten) */
  held: number
}

/** A scoring cache's resident: a Resident of its own (the expert keeps its state in `slot`). */
interface ShadowEntry extends Resident {
  readonly rec: Rec
}

/** One expert's scoring cache (metadata only) and its decayed miss score. */
interface Shadow {
  readonly policy: EvictionPolicy
  used: number
  score: number
  /** decayed misses (= score when a miss costs 1) */
  misses: number
  /** decayed evictions (0: it never had to make room, everything it saw fits) */
  evictions: number
  /** decayed requests on which exactly one of this expert and the leader missed */
  split: number
  /** whether it missed the current request */
  missed: boolean
}

const always = (): boolean => true
/** the increment grows by 2^(1/halfLife) per request; rescale everything before it overflows */
const RESCALE_AT = 1e200

/** 32-bit hash of an id (FNV-1a, then murmur3's finaliser so that the low bits are mixed) */
const hashId = (id: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

class ScoringCaches {
  readonly shadows: Shadow[]
  readonly k: number
  /** the expert the `split` counts compare with */
  leader = 0
  /** the current request's weight (grows so that older ones decay) */
  inc = 1
  /** SHARDS sample: a model is scored when (hash & mask) = 0 (mask 0: every model) */
  mask = 0
  /** whether the sample has been chosen */
  decided = false
  private readonly recs = new Map<ModelId, Rec>()
  private growth: number
  private shadowCap: number

  constructor(
    policies: EvictionPolicy[],
    private readonly capacityBytes: number,
    private readonly halfLife: number,
    /** what a scoring miss adds to `score`: 1, the model's load time, or its size */
    private readonly cost: "misses" | "load" | "bytes",
    private readonly sample: number
  ) {
    this.shadows = policies.map((policy) => ({ policy, used: 0, score: 0, misses: 0, evictions: 0, split: 0, missed: false }))
    this.k = policies.length
    this.growth = Math.pow(2, 1 / halfLife)
    this.shadowCap = capacityBytes
  }

  /** models some scoring cache holds */
  get held(): number {
    return this.recs.size
  }

  /** whether scoring cache 0 would have to evict to take a model of `size` bytes */
  full(size: number): boolean {
    return this.shadows[0]!.used + size > this.shadowCap
  }

  /** from now on score a hashed sample if `count` models fill the capacity (see the policy's header) */
  decideSampling(count: number): void {
    this.decided = true
    let s = 0
    while (count >> (s + 1) >= this.sample) s++
    if (s === 0) return
    this.mask = (1 << s) - 1
    this.shadowCap = this.capacityBytes / (1 << s)
    this.growth = Math.pow(2, (1 << s) / this.halfLife)
    for (const rec of this.recs.values()) {
      if ((hashId(rec.id) & this.mask) === 0) continue
      for (let j = 0; j < this.k; j++) {
        const se = rec.shadow[j]
        if (se !== undefined) this.drop(j, se)
      }
    }
  }

  /** one request: replay it on every scoring cache; false when the model is outside the sample */
  observe(id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number): boolean {
    if (this.mask !== 0 && (hashId(id) & this.mask) !== 0) return false
    let rec = this.recs.get(id)
    if (rec === undefined) {
      rec = { id, shadow: new Array<ShadowEntry | undefined>(this.k).fill(undefined), held: 0 }
      this.recs.set(id, rec)
    }
    this.inc *= this.growth
    if (this.inc > RESCALE_AT) {
      for (const sh of this.shadows) {
        sh.score /= this.inc
        sh.misses /= this.inc
        sh.evictions /= this.inc
        sh.split /= this.inc
      }
      this.inc = 1
    }
    for (let j = 0; j < this.k; j++) this.request(j, rec, tenant, size, loadCostMs, now)
    if (rec.held === 0) this.recs.delete(rec.id) // fits in no scoring cache
    const lead = this.shadows[this.leader]!
    for (let j = 0; j < this.k; j++) if (this.shadows[j]!.missed !== lead.missed) this.shadows[j]!.split += this.inc
    return true
  }

  /** a model's size changed (ModelCache.resize) */
  resize(id: ModelId, size: number): void {
    const rec = this.recs.get(id)
    if (rec === undefined) return
    for (let j = 0; j < this.k; j++) {
      const se = rec.shadow[j]
      if (se === undefined) continue
      const before = se.size
      this.shadows[j]!.used += size - before
      se.size = size
      this.shadows[j]!.policy.onResize?.(se, before)
    }
  }

  /** forget every model (the scores stop) */
  clear(): void {
    this.recs.clear()
  }

  /** scoring cache j stops holding `se` (its own victim, or outside the sample) */
  private drop(j: number, se: ShadowEntry): void {
    const sh = this.shadows[j]!
    sh.policy.onRemove(se)
    sh.used -= se.size
    const rec = se.rec
    rec.shadow[j] = undefined
    if (--rec.held === 0) this.recs.delete(rec.id)
  }

  /** replay one request on scoring cache j */
  private request(j: number, rec: Rec, tenant: TenantId, size: number, loadCostMs: number, now: number): void {
    const sh = this.shadows[j]!
    const se = rec.shadow[j]
    const inc = this.inc
    if (se !== undefined) {
      sh.missed = false
      if (now > se.lastUsed) se.lastUsed = now
      se.hits++
      sh.policy.onHit(se, now)
      return
    }
    sh.missed = true
    sh.misses += inc
    sh.score += this.cost === "misses" ? inc : this.cost === "load" ? inc * loadCostMs : inc * size
    if (size > this.shadowCap) return // never fits: a miss every time
    const need = sh.used + size - this.shadowCap
    if (need > 0) {
      sh.evictions += inc
      const victims = sh.policy.chooseVictims(need, now, always)
      let freed = 0
      for (let i = 0; i < victims.length && freed < need; i++) {
        const v = victims[i] as ShadowEntry
        freed += v.size
        this.drop(j, v)
      }
    }
    const entry: ShadowEntry = {
      lastUsed: now,
      hits: 1,
      slot: undefined,
      size,
      inFlight: 0,
      loading: false,
      pinned: false,
      id: rec.id,
      tenant,
      loadCostMs,
      insertedAt: now,
      nextUse: Infinity,
      rec
    }
    rec.shadow[j] = entry
    rec.held++
    sh.used += size
    sh.policy.onInsert(entry, now)
  }
}
