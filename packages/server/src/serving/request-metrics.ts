import type { ErrorKind } from "../errors.js"
import type { ModelEntry } from "../instance/model-entry.js"
import type { RequestSeries, ServerMetrics, Transport } from "../observability/metrics.js"

/**
 * `meshkit_requests_total` / `meshkit_request_duration_seconds` label a request's outcome with
 * the HTTP status of its kind, whichever transport carried it, so a model's failures of one
 * kind are one series (the labels Prometheus users of the REST API expect).
 */
export const STATUS_LABEL: Readonly<Record<ErrorKind, string>> = {
  invalid: "400",
  forbidden: "403",
  "not-found": "404",
  conflict: "409",
  "payload-too-large": "413",
  overloaded: "429",
  upstream: "502",
  unavailable: "503",
  "insufficient-storage": "507",
  unauthenticated: "401",
  internal: "500"
}

/**
 * Request counts and latency (per model with --model-metrics), labelled with the transport. The success series of each model
 * is cached per entry, so a hit costs one WeakMap lookup and one clock read; failures look
 * their series up by name (the registry of series is keyed by model and status).
 */
export class RequestMetrics {
  private readonly okHttp = new WeakMap<ModelEntry, RequestSeries>()
  private readonly okGrpc = new WeakMap<ModelEntry, RequestSeries>()

  constructor(private readonly metrics: ServerMetrics) {}

  /** A request on `e` answered successfully over `transport`; `t0` is performance.now() when it arrived. Returns the clock reading it took. */
  succeeded(e: ModelEntry, t0: number, transport: Transport): number {
    const ok = transport === "grpc" ? this.okGrpc : this.okHttp
    let s = ok.get(e)
    if (s === undefined) {
      s = this.metrics.forModel(e.id, "200", transport, e.record.tenant)
      ok.set(e, s)
    }
    const now = performance.now()
    this.metrics.observeRequest(s, (now - t0) / 1000)
    return now
  }

  /** A request failed with `kind`; `e` is undefined when no model could be resolved. */
  failed(e: ModelEntry | undefined, kind: ErrorKind, t0: number, transport: Transport): void {
    this.metrics.observeRequest(this.metrics.forModel(e?.id ?? "", STATUS_LABEL[kind], transport, e?.record.tenant), (performance.now() - t0) / 1000)
  }
}
