/**
 * Trace context across a forwarding hop: two real `meshkit serve --etcd` instances on a real
 * etcd, exporting spans to a real OTLP/HTTP receiver. A traced request that arrives at the
 * instance without the model is forwarded; the receiver then holds one trace with the entry
 * instance's server span (child of the caller's), its forward span, and the serving instance's
 * server span (child of the forward span); the request id is the same on both hops.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeModel } from "@meshkit/onnx-models"
import { startLocalCluster, type LocalCluster } from "@meshkit/server"
import { ensureEtcd } from "../packages/server/test/support/etcd.js"
import { startOtlpReceiver, type OtlpReceiver } from "./support/otlp-receiver.js"
import { BIN, eventually, removeDir, ROOT, tempDir } from "./server-harness.js"

let dir = ""
let cluster: LocalCluster
let receiver: OtlpReceiver
const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array(64).fill(0.25) }] })

beforeAll(async () => {
  const etcdBin = ensureEtcd()
  receiver = await startOtlpReceiver()
  dir = await tempDir("trace-cluster")
  await writeFile(join(dir, "m.onnx"), makeModel({ sizeBytes: 64 * 1024 }, 1))
  cluster = await startLocalCluster({
    instances: 2,
    etcdBin,
    serveCommand: [process.execPath, BIN, "serve"],
    // scaling off: the model keeps one copy, so the other instance must forward
    serveArgs: ["--models", dir, "--memory", "64MiB", "--scaling", "off", "--otlp-endpoint", receiver.url, "--log-level", "warn"],
    cwd: ROOT,
    grpc: () => false,
    readyTimeoutMs: 90_000
  })
}, 180_000)

afterAll(async () => {
  await cluster?.stop()
  await receiver?.close()
  await removeDir(dir)
}, 60_000)

it("one trace spans both instances through the forward", async () => {
  const first = await fetch(`${cluster.instances[0]!.url}/v2/models/m/infer`, { method: "POST", body })
  expect(first.status).toBe(200)
  const traces: string[] = []
  for (const [i, inst] of cluster.instances.entries()) {
    const traceId = `${String(i + 1).repeat(2)}${"c".repeat(30)}`
    traces.push(traceId)
    const r = await fetch(`${inst.url}/v2/models/m/infer`, { method: "POST", body, headers: { traceparent: `00-${traceId}-aaaaaaaaaaaaaaaa-01`, "x-request-id": `hop-${i}` } })
    expect(r.status).toBe(200)
    expect(r.headers.get("x-request-id")).toBe(`hop-${i}`)
  }
  // One of the two instances holds the only copy; the other forwarded its request.
  const chains = () =>
    traces.map((t) => {
      const spans = receiver.spans.filter((s) => s.traceId === t)
      const entry = spans.find((s) => s.parentSpanId === "aaaaaaaaaaaaaaaa")
      const fwd = entry && spans.find((s) => s.parentSpanId === entry.spanId && s.kind === 3)
      const remote = fwd && spans.find((s) => s.parentSpanId === fwd.spanId && s.kind === 2)
      return { spans, entry, fwd, remote }
    })
  await eventually(async () => chains().some((c) => c.remote !== undefined) && chains().every((c) => c.entry !== undefined), 20_000)
  const forwarded = chains().find((c) => c.remote !== undefined)!
  expect(forwarded.fwd!.name).toMatch(/^forward (hit|load)$/)
  expect(forwarded.remote!.instance).not.toBe(forwarded.entry!.instance)
  expect(forwarded.remote!.attributes["meshkit.request_id"]).toBe(forwarded.entry!.attributes["meshkit.request_id"])
  expect(forwarded.remote!.attributes["meshkit.forwarded_from"]).toBeDefined()
  expect(receiver.rejected).toEqual([])
}, 60_000)
