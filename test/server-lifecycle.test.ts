import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { eventually, getJson, infer, json, inferBody, metric, metrics, repositoryIndex, withServer } from "./server-harness.js"

/**
 * Operations: Prometheus families, idle unload by a keep-alive policy, per-model overload with
 * sessions in worker threads (inference does not block the event loop there, so requests
 * really queue on a busy model), and graceful shutdown that drains a request in flight.
 */
const fixture = withServer("lifecycle", {
  models: { small: [128 * 1024, 1], idle: [128 * 1024, 2], busy: [4 * 1024 * 1024, 3], cold: [32 * 1024 * 1024, 5], slow: [48 * 1024 * 1024, 4] },
  args: (dir) => [
    "--models", dir,
    "--memory", "512MiB",
    "--data-dir", join(dir, "data"),
    "--eviction", JSON.stringify({ name: "ttl", options: { keepAliveMs: 1500 } }),
    "--expire-interval", "100ms",
    "--runtime-workers", "1",
    "--model-concurrency", "1",
    "--queue-limit", "2",
    "--log-level", "info",
    "--model-metrics"
  ]
})

describe("metrics", () => {
  it("exports the listed Prometheus families", async () => {
    expect((await infer(fixture.server, "small")).status).toBe(200)
    const text = await metrics(fixture.server)
    const families = [
      "meshkit_requests_total",
      "meshkit_request_duration_seconds",
      "meshkit_cache_hits_total",
      "meshkit_cache_misses_total",
      "meshkit_load_duration_seconds",
      "meshkit_load_failures_total",
      "meshkit_unload_duration_seconds",
      "meshkit_load_queue_delay_seconds",
      "meshkit_request_queue_delay_seconds",
      "meshkit_model_loading_wait_seconds",
      "meshkit_evictions_total",
      "meshkit_age_at_eviction_seconds",
      "meshkit_loaded_model_size_bytes",
      "meshkit_capacity_bytes",
      "meshkit_used_bytes",
      "meshkit_models_loaded",
      "meshkit_models_managed",
      "meshkit_models_with_failure"
    ]
    for (const f of families) expect(text, f).toMatch(new RegExp(`^# TYPE ${f} `, "m"))
    expect(metric(text, 'meshkit_requests_total{model="small",status="200",transport="http"}')).toBe(1)
    expect(metric(text, 'meshkit_request_duration_seconds_count{model="small",status="200",transport="http"}')).toBe(1)
    expect(metric(text, "meshkit_capacity_bytes")).toBe(512 * 1024 * 1024)
    expect(metric(text, "meshkit_models_managed")).toBe(5)
    expect(metric(text, "meshkit_models_loaded")).toBeGreaterThanOrEqual(1)
    expect(metric(text, "meshkit_used_bytes")).toBeGreaterThan(0)
  })
})

describe("keep-alive", () => {
  it("unloads a model idle longer than the ttl policy's keep-alive", async () => {
    expect((await infer(fixture.server, "idle")).status).toBe(200)
    expect((await repositoryIndex(fixture.server)).idle).toBe("READY")
    await eventually(async () => (await repositoryIndex(fixture.server)).idle === "UNAVAILABLE", 10_000, 100)
    const text = await metrics(fixture.server)
    expect(metric(text, 'meshkit_evictions_total{reason="expired"}')).toBeGreaterThanOrEqual(1)
    // It comes back on its next request.
    expect((await infer(fixture.server, "idle")).status).toBe(200)
  })
})

describe("overload", () => {
  it("queues up to --queue-limit behind a busy model and answers the rest 429 at once", async () => {
    expect((await infer(fixture.server, "busy")).status).toBe(200) // loaded
    const heavy = inferBody(1024)
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${fixture.server.url}/v2/health/live`).then((r) => r.text())))
    const t0 = performance.now()
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await infer(fixture.server, "busy", heavy)
        const body = await json(res)
        return { status: res.status, ms: performance.now() - t0, body }
      })
    )
    const served = results.filter((r) => r.status === 200)
    const rejected = results.filter((r) => r.status === 429)
    expect(served.length + rejected.length).toBe(10)
    expect(rejected.length).toBeGreaterThanOrEqual(1)
    for (const r of rejected) expect(r.body.error).toMatch(/overloaded: 1 requests running and 2 queued/)
    expect(Math.max(...rejected.map((r) => r.ms))).toBeLessThan(Math.max(...served.map((r) => r.ms)))
    await eventually(async () => (await getJson(fixture.server, "/v1/models/busy")).inFlight === 0)
  })

  it("lets at most --queue-limit requests wait for a loading model and answers the rest 429 before the load ends", async () => {
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${fixture.server.url}/v2/health/live`).then((r) => r.text())))
    const t0 = performance.now()
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await infer(fixture.server, "cold")
        const body = await json(res)
        return { status: res.status, ms: performance.now() - t0, body, retryAfter: res.headers.get("retry-after") }
      })
    )
    const served = results.filter((r) => r.status === 200)
    const rejected = results.filter((r) => r.status === 429)
    expect(served.length).toBe(2)
    expect(rejected.length).toBe(8)
    for (const r of rejected) {
      expect(r.body.error).toMatch(/is loading and already has 2 requests waiting/)
      expect(r.retryAfter).toBe("1")
    }
    expect(Math.max(...rejected.map((r) => r.ms))).toBeLessThan(Math.min(...served.map((r) => r.ms)))
    expect((await getJson(fixture.server, "/v1/models/cold")).loads).toBe(1)
  })
})

describe("shutdown", () => {
  it("drains a request in flight on SIGTERM, then exits 0", async () => {
    // A cold 48 MiB model: the request waits for its load while the signal arrives.
    const pending = infer(fixture.server, "slow")
    await eventually(async () => (await getJson(fixture.server, "/v1/models/slow")).status === "LOADING", 10_000, 5)
    fixture.server.proc.kill("SIGTERM")
    const res = await pending
    expect(res.status).toBe(200)
    expect((await json(res)).outputs[0].shape).toEqual([1, 10])
    expect(await fixture.server.exited).toBe(0)
    const log = fixture.server.stderr()
    expect(log).toMatch(/"msg":"shutting down","signal":"SIGTERM"/)
    expect(log).toMatch(/"msg":"http draining","inFlight":1/)
    expect(log).toMatch(/"msg":"stopped"/)
    await expect(fetch(`${fixture.server.url}/v2/health/live`)).rejects.toThrow()
  })
})
