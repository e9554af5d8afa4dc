import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import { ServiceTag } from "../service-tag.js"

/**
 * Prometheus metrics (prom-client), ModelMesh's set under meshkit_* names in base units
 * (seconds, bytes), plus SageMaker's ModelLoadingWaitTime. One Registry per server so tests and
 * benches can run several in a process.
 *
 *   ModelMesh                                   meshkit
 *   modelmesh_invoke_model_milliseconds      → meshkit_request_duration_seconds{model,status}
 *   modelmesh_api_request_milliseconds       → meshkit_requests_total{model,status}
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
 */
export interface CacheGauges {
  capacityBytes(): number
  usedBytes(): number
  loaded(): number
  loading(): number
  managed(): number
  withFailure(): number
}

/**
 * Requests and latency per (model, status): on every request, so kept in plain fields and
 * rendered for Prometheus only when scraped. prom-client's labelled children hash their labels
 * on every inc/observe; this costs one array walk instead.
 */
export class RequestSeries {
  count = 0
  sum = 0
  readonly buckets: Float64Array
  constructor(
    readonly model: string,
    readonly status: string,
    bounds: number
  ) {
    this.buckets = new Float64Array(bounds)
  }
}

class RequestStats {
  private readonly byKey = new Map<string, RequestSeries>()
  constructor(readonly bounds: ReadonlyArray<number>) {}

  series(model: string, status: string): RequestSeries {
    const key = `${model}\u0000${status}`
    let s = this.byKey.get(key)
    if (!s) {
      s = new RequestSeries(model, status, this.bounds.length)
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

  /** A histogram without labels (the one series ("", "")), as a prom-client custom metric. */
  unlabelled(name: string, help: string) {
    const s = this.series("", "")
    return {
      name,
      help,
      type: "histogram",
      aggregator: "sum",
      get: () => {
        const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = []
        let cumulative = 0
        for (let i = 0; i < this.bounds.length; i++) {
          cumulative += s.buckets[i]!
          values.push({ metricName: `${name}_bucket`, labels: { le: this.bounds[i]! }, value: cumulative })
        }
        values.push({ metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: s.count })
        values.push({ metricName: `${name}_sum`, labels: {}, value: s.sum })
        values.push({ metricName: `${name}_count`, labels: {}, value: s.count })
        return { name, help, type: "histogram", aggregator: "sum", values }
      }
    }
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
        values: all().map((s) => ({ labels: { model: s.model, status: s.status }, value: s.count }))
      })
    }
    const histogram = {
      name: histName,
      help: histHelp,
      type: "histogram",
      aggregator: "sum",
      get: () => {
        const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = []
        for (const s of all()) {
          const labels = { model: s.model, status: s.status }
          let cumulative = 0
          for (let i = 0; i < this.bounds.length; i++) {
            cumulative += s.buckets[i]!
            values.push({ metricName: `${histName}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: cumulative })
          }
          values.push({ metricName: `${histName}_bucket`, labels: { ...labels, le: "+Inf" }, value: s.count })
          values.push({ metricName: `${histName}_sum`, labels, value: s.sum })
          values.push({ metricName: `${histName}_count`, labels, value: s.count })
        }
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
  private readonly queueDelay = this.queueDelayStats.series("", "")
  readonly loadingWait: Histogram
  readonly evictions: Counter<"reason">
  readonly ageAtEviction: Histogram
  readonly loadedModelSize: Histogram
  readonly downloadDuration: Histogram
  private gauges: CacheGauges | undefined

  constructor(opts: { readonly processMetrics?: boolean } = {}) {
    super()
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
      "Inference requests by model and status code",
      "meshkit_request_duration_seconds",
      "Inference request latency (receive to response) by model and status code"
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
    this.evictions = new Counter({ name: "meshkit_evictions_total", help: "Models unloaded by the cache: capacity (make room) or expired (idle keep-alive)", labelNames: ["reason"], registers })
    this.ageAtEviction = new Histogram({ name: "meshkit_age_at_eviction_seconds", help: "Time since last use of an evicted model", buckets: AGE, registers })
    this.loadedModelSize = new Histogram({
      name: "meshkit_loaded_model_size_bytes",
      help: "Measured size of models after load",
      buckets: [1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 * 2 ** 30],
      registers
    })
    this.downloadDuration = new Histogram({ name: "meshkit_download_duration_seconds", help: "Model download time (URL sources)", buckets: SLOW, registers })
    gauge("meshkit_capacity_bytes", "Memory budget for models", (g) => g.capacityBytes())
    gauge("meshkit_used_bytes", "Bytes held by loaded and loading models (and models still unloading)", (g) => g.usedBytes())
    gauge("meshkit_models_loaded", "Models loaded and ready", (g) => g.loaded())
    gauge("meshkit_models_loading", "Models being loaded", (g) => g.loading())
    gauge("meshkit_models_managed", "Registered models", (g) => g.managed())
    gauge("meshkit_models_with_failure", "Models whose last load failed", (g) => g.withFailure())
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "meshkit_process_" })
  }

  attach(g: CacheGauges): void {
    this.gauges = g
  }

  /** The request series of one model and status; callers on the hot path keep it. */
  forModel(model: string, status: string): RequestSeries {
    return this.requestStats.series(model, status)
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

