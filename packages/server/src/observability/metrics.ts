import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import { ServiceTag } from "../service-tag.js"
import { jsThreadHolds } from "../runtimes/onnx/js-thread-hold.js"

/**
 * Prometheus metrics (prom-client), ModelMesh's set under meshkit_* names in base units
 * (seconds, bytes), plus SageMaker's ModelLoadingWaitTime. One Registry per server so tests and
 * benches can run several in a process.
 *
 *   ModelMesh                                   meshkit
 *   modelmesh_invoke_model_milliseconds      → meshkit_request_duration_seconds{status,transport[,model]}
 *   modelmesh_api_request_milliseconds       → meshkit_requests_total{status,transport[,model]}
 *   modelmesh_cache_miss_milliseconds        → meshkit_model_loading_wait_seconds (SageMaker ModelLoadingWaitTime)
 *   modelmesh_loadmodel_milliseconds         → meshkit_load_duration_seconds{outcome}
 *   modelmesh_loadmodel_failure              → meshkit_load_failures_total
 *   modelmesh_unloadmodel_milliseconds       → meshkit_unload_duration_seconds
 *   modelmesh_model_evicted                  → meshkit_evictions_total{reason}
 *   modelmesh_age_at_eviction_milliseconds   → meshkit_age_at_eviction_seconds
 *   modelmesh_loading_queue_delay_millis..   → meshkit_load_queue_delay_seconds
 *   modelmesh_req_queue_delay_milliseconds   → meshkit_request_queue_delay_seconds
 *   modelmesh_loaded_model_size_bytes        → meshkit_loaded_model_size_bytes
 *   modelmesh_instance_capacity_bytes / used → meshkit_capacity_bytes / meshkit_used_bytes
 *   modelmesh_models_loaded_total / managed  → meshkit_models_loaded / meshkit_models_managed
 *   modelmesh_models_with_failure_total      → meshkit_models_with_failure
 *   (SageMaker ModelCacheHit)                → meshkit_cache_hits_total / meshkit_cache_misses_total
 *   (none)                                   → meshkit_eviction_policy_info{policy,running}
 *
 * The model label is opt-in (`modelMetrics`, --model-metrics): with thousands of models a label
 * per model is thousands of series per status. Process metrics are prom-client's defaults under
 * meshkit_ (meshkit_process_*, meshkit_nodejs_*). The exposition is clean under `promtool check metrics`.
 */
export interface CacheGauges {
  capacityBytes(): number
  usedBytes(): number
  loaded(): number
  loading(): number
  managed(): number
  withFailure(): number
  /** the eviction policy's name, and the one deciding now (a delegating policy's expert) */
  policy(): string
  running(): string
}

/** The API a request came in on: the `transport` label of the request series. */
export type Transport = "http" | "grpc"

/**
 * Requests and latency per (model, status, transport): on every request, so kept in plain fields
 * and rendered for Prometheus only when scraped. prom-client's labelled children hash their
 * labels on every inc/observe; this costs one array walk instead. `model` is undefined when
 * per-model series are off (the default): then no series carries a model label.
 */
export class RequestSeries {
  count = 0
  sum = 0
  readonly buckets: Float64Array
  readonly labels: Readonly<Record<string, string>>
  constructor(
    readonly model: string | undefined,
    readonly status: string,
    readonly transport: Transport | undefined,
    bounds: number,
    /** the model's tenant, with a tenants file (a handful of values; never a token) */
    readonly tenant?: string
  ) {
    this.buckets = new Float64Array(bounds)
    const labels: Record<string, string> = {}
    if (model !== undefined) labels.model = model
    labels.status = status
    if (transport !== undefined) labels.transport = transport
    if (tenant !== undefined) labels.tenant = tenant
    this.labels = labels
  }
}

type Sample = { metricName: string; labels: Record<string, string | number>; value: number }

class RequestStats {
  private readonly byKey = new Map<string, RequestSeries>()
  constructor(readonly bounds: ReadonlyArray<number>) {}

  series(model: string | undefined, status: string, transport: Transport | undefined, tenant?: string): RequestSeries {
    const key = `${model ?? "\u0001"}\u0000${status}\u0000${transport ?? ""}\u0000${tenant ?? "\u0001"}`
    let s = this.byKey.get(key)
    if (!s) {
      s = new RequestSeries(model, status, transport, this.bounds.length, tenant)
      this.byKey.set(key, s)
    }
    return s
  }

  observe(s: RequestSeries, seconds: number): void {
    s.count++
    s.sum += seconds
    const b = this.bounds
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        s.buckets[i]!++
        return
      }
    }
  }

  private histogramSamples(name: string, s: RequestSeries, labels: Record<string, string>, into: Sample[]): void {
    let cumulative = 0
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += s.buckets[i]!
      into.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative })
    }
    into.push({ metricName: `${name}_bucket`, labels: { ...labels, le: "+Inf" }, value: s.count })
    into.push({ metricName: `${name}_sum`, labels, value: s.sum })
    into.push({ metricName: `${name}_count`, labels, value: s.count })
  }

  /** A histogram without labels (the one series with no model, status or transport), as a prom-client custom metric. */
  unlabelled(name: string, help: string) {
    const s = this.series(undefined, "", undefined)
    const get = () => {
      const values: Sample[] = []
      this.histogramSamples(name, s, {}, values)
      return { name, help, type: "histogram", aggregator: "sum", values }
    }
    return { name, help, type: "histogram", aggregator: "sum", get }
  }

  /** prom-client custom metrics (registry.registerMetric): the counter and the histogram. */
  metrics(counterName: string, counterHelp: string, histName: string, histHelp: string) {
    const all = () => [...this.byKey.values()]
    const counter = {
      name: counterName,
      help: counterHelp,
      type: "counter",
      aggregator: "sum",
      get: () => ({
        name: counterName,
        help: counterHelp,
        type: "counter",
        aggregator: "sum",
        values: all().map((s) => ({ labels: { ...s.labels }, value: s.count }))
      })
    }
    const histogram = {
      name: histName,
      help: histHelp,
      type: "histogram",
      aggregator: "sum",
      get: () => {
        const values: Sample[] = []
        for (const s of all()) this.histogramSamples(histName, s, { ...s.labels }, values)
        return { name: histName, help: histHelp, type: "histogram", aggregator: "sum", values }
      }
    }
    return { counter, histogram }
  }
}

const LATENCY = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const SLOW = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const AGE = [1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600]

/** Its own service tag: `yield* ServerMetrics` in Effect code. */
export class ServerMetrics extends ServiceTag("meshkit/server/Metrics")<ServerMetrics>() {
  readonly registry = new Registry()
  private readonly requestStats = new RequestStats(LATENCY)
  /** plain counts, exported as meshkit_cache_{hits,misses}_total when scraped */
  hits = 0
  misses = 0
  readonly loadDuration: Histogram<"outcome">
  readonly loadFailures: Counter
  readonly unloadDuration: Histogram
  readonly loadQueueDelay: Histogram
  /** observed on every request that waits for a slot: plain fields, rendered when scraped */
  private readonly queueDelayStats = new RequestStats(LATENCY)
  private readonly queueDelay = this.queueDelayStats.series(undefined, "", undefined)
  /** per-model request series (`--model-metrics`); off by default: one series per status and transport */
  readonly modelMetrics: boolean
  /** with a tenants file: a tenant label on the request series (the model's tenant) */
  readonly tenantMetrics: boolean
  readonly loadingWait: Histogram
  readonly evictions: Counter<"reason">
  readonly ageAtEviction: Histogram
  readonly loadedModelSize: Histogram
  readonly downloadDuration: Histogram
  readonly heapTrims: Counter
  readonly heapTrimmedBytes: Counter
  private gauges: CacheGauges | undefined

  constructor(opts: { readonly processMetrics?: boolean; readonly modelMetrics?: boolean; readonly tenantMetrics?: boolean } = {}) {
    super()
    this.modelMetrics = opts.modelMetrics ?? false
    this.tenantMetrics = opts.tenantMetrics ?? false
    const registers = [this.registry]
    const self = this
    const gauge = (name: string, help: string, read: (g: CacheGauges) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          if (self.gauges) this.set(read(self.gauges))
        }
      })
    const { counter, histogram } = this.requestStats.metrics(
      "meshkit_requests_total",
      "Inference requests by status code and transport (and model, with --model-metrics)",
      "meshkit_request_duration_seconds",
      "Inference request latency (receive to response) by status code and transport (and model, with --model-metrics)"
    )
    this.registry.registerMetric(counter as never)
    this.registry.registerMetric(histogram as never)
    const plainCounter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read())
        }
      })
    plainCounter("meshkit_cache_hits_total", "Requests that found their model loaded", () => self.hits)
    plainCounter("meshkit_cache_misses_total", "Requests that had to wait for their model to load", () => self.misses)
    this.loadDuration = new Histogram({ name: "meshkit_load_duration_seconds", help: "Model load time (runtime load, after queueing)", labelNames: ["outcome"], buckets: SLOW, registers })
    this.loadFailures = new Counter({ name: "meshkit_load_failures_total", help: "Model loads that failed or timed out", registers })
    this.unloadDuration = new Histogram({ name: "meshkit_unload_duration_seconds", help: "Model unload time", buckets: SLOW, registers })
    this.loadQueueDelay = new Histogram({ name: "meshkit_load_queue_delay_seconds", help: "Time a load waited for a slot in the load pool", buckets: SLOW, registers })
    this.registry.registerMetric(this.queueDelayStats.unlabelled("meshkit_request_queue_delay_seconds", "Time a request waited for a per-model concurrency slot") as never)
    this.loadingWait = new Histogram({
      name: "meshkit_model_loading_wait_seconds",
      help: "Time a request waited for its model to be downloaded and loaded (SageMaker ModelLoadingWaitTime)",
      buckets: SLOW,
      registers
    })
    new Gauge({
      name: "meshkit_eviction_policy_info",
      help: "The eviction policy of the server's cache (1), and the policy deciding now: meshkit-adaptive runs the cache by one of its experts",
      labelNames: ["policy", "running"],
      registers,
      collect() {
        this.reset()
        if (self.gauges) this.set({ policy: self.gauges.policy(), running: self.gauges.running() }, 1)
      }
    })
    this.evictions = new Counter({ name: "meshkit_evictions_total", help: "Models unloaded by the cache: capacity (make room) or expired (idle keep-alive)", labelNames: ["reason"], registers })
    this.ageAtEviction = new Histogram({ name: "meshkit_age_at_eviction_seconds", help: "Time since last use of an evicted model", buckets: AGE, registers })
    this.loadedModelSize = new Histogram({
      name: "meshkit_loaded_model_size_bytes",
      help: "Measured size of models after load",
      buckets: [1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 * 2 ** 30],
      registers
    })
    this.downloadDuration = new Histogram({ name: "meshkit_download_duration_seconds", help: "Model download time (URL sources)", buckets: SLOW, registers })
    this.heapTrims = new Counter({ name: "meshkit_heap_trims_total", help: "Times freed native memory was given back to the OS after an unload (RSS over the start + budget + slack line)", registers })
    this.heapTrimmedBytes = new Counter({ name: "meshkit_heap_trimmed_bytes_total", help: "Resident bytes those trims gave back", registers })
    // the JS thread held by in-process session create / release (runtimes/onnx/js-thread-hold.ts)
    for (const op of ["load", "unload"] as const) {
      const what = op === "load" ? "create" : "release"
      plainCounter(`meshkit_js_thread_${op}_hold_seconds_total`, `Seconds the JS thread was held by the synchronous part of in-process ONNX session ${what}s`, () => jsThreadHolds[op].ms / 1000)
      plainCounter(`meshkit_js_thread_${op}_holds_total`, `In-process ONNX session ${what}s timed for meshkit_js_thread_${op}_hold_seconds_total`, () => jsThreadHolds[op].count)
    }
    gauge("meshkit_capacity_bytes", "Memory budget for models", (g) => g.capacityBytes())
    gauge("meshkit_used_bytes", "Bytes held by loaded and loading models (and models still unloading)", (g) => g.usedBytes())
    gauge("meshkit_models_loaded", "Models loaded and ready", (g) => g.loaded())
    gauge("meshkit_models_loading", "Models being loaded", (g) => g.loading())
    gauge("meshkit_models_managed", "Registered models", (g) => g.managed())
    gauge("meshkit_models_with_failure", "Models whose last load failed", (g) => g.withFailure())
    if (opts.processMetrics ?? true) {
      // prom-client's own names already start with process_ / nodejs_: the prefix is the namespace
      // alone (meshkit_process_cpu_seconds_total, not meshkit_process_process_...).
      collectDefaultMetrics({ register: this.registry, prefix: "meshkit_" })
      // Its nodejs_active_{handles,requests,resources}_total are gauges named like counters
      // (promtool: non-counter metrics should not have "_total" suffix); the same numbers are
      // sum(meshkit_nodejs_active_handles) etc. over the gauges by type, so these go.
      for (const kind of ["handles", "requests", "resources"]) this.registry.removeSingleMetric(`meshkit_nodejs_active_${kind}_total`)
    }
  }

  attach(g: CacheGauges): void {
    this.gauges = g
  }

  /**
   * The request series of one model, status and transport; callers on the hot path keep it. With
   * per-model series off, every model shares its status and transport's series.
   */
  forModel(model: string, status: string, transport?: Transport, tenant?: string): RequestSeries {
    return this.requestStats.series(this.modelMetrics ? model : undefined, status, transport, this.tenantMetrics ? tenant : undefined)
  }

  observeQueueDelay(seconds: number): void {
    this.queueDelayStats.observe(this.queueDelay, seconds)
  }

  /** Count one request and its latency. */
  observeRequest(s: RequestSeries, seconds: number): void {
    this.requestStats.observe(s, seconds)
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}

