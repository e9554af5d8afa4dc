import { Context } from "effect"
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"

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

const LATENCY = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const SLOW = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
const AGE = [1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600]

export class ServerMetrics {
  readonly registry = new Registry()
  readonly requests: Counter<"model" | "status">
  readonly requestDuration: Histogram<"model" | "status">
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly loadDuration: Histogram<"outcome">
  readonly loadFailures: Counter
  readonly unloadDuration: Histogram
  readonly loadQueueDelay: Histogram
  readonly requestQueueDelay: Histogram
  readonly loadingWait: Histogram
  readonly evictions: Counter<"reason">
  readonly ageAtEviction: Histogram
  readonly loadedModelSize: Histogram
  readonly downloadDuration: Histogram
  private gauges: CacheGauges | undefined

  constructor(opts: { readonly processMetrics?: boolean } = {}) {
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
    this.requests = new Counter({ name: "meshkit_requests_total", help: "Inference requests by model and status code", labelNames: ["model", "status"], registers })
    this.requestDuration = new Histogram({
      name: "meshkit_request_duration_seconds",
      help: "Inference request latency (receive to response) by model and status code",
      labelNames: ["model", "status"],
      buckets: LATENCY,
      registers
    })
    this.cacheHits = new Counter({ name: "meshkit_cache_hits_total", help: "Requests that found their model loaded", registers })
    this.cacheMisses = new Counter({ name: "meshkit_cache_misses_total", help: "Requests that had to wait for their model to load", registers })
    this.loadDuration = new Histogram({ name: "meshkit_load_duration_seconds", help: "Model load time (runtime load, after queueing)", labelNames: ["outcome"], buckets: SLOW, registers })
    this.loadFailures = new Counter({ name: "meshkit_load_failures_total", help: "Model loads that failed or timed out", registers })
    this.unloadDuration = new Histogram({ name: "meshkit_unload_duration_seconds", help: "Model unload time", buckets: SLOW, registers })
    this.loadQueueDelay = new Histogram({ name: "meshkit_load_queue_delay_seconds", help: "Time a load waited for a slot in the load pool", buckets: SLOW, registers })
    this.requestQueueDelay = new Histogram({ name: "meshkit_request_queue_delay_seconds", help: "Time a request waited for a per-model concurrency slot", buckets: LATENCY, registers })
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

  /** Per-model counters for one status, fetched once and kept by the caller (hot path). */
  forModel(model: string, status: string): { readonly count: Counter.Internal; readonly latency: Histogram.Internal<"model" | "status"> } {
    return { count: this.requests.labels(model, status), latency: this.requestDuration.labels(model, status) }
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}

export class Metrics extends Context.Tag("meshkit/server/Metrics")<Metrics, ServerMetrics>() {}
