/**
 * Cluster mode end to end: a real etcd and three real `meshkit serve --etcd` processes on
 * loopback, driven over real sockets. Any instance serves any model; concurrent first requests
 * cause one load in the whole cluster; copies stay within their bounds; a killed instance's
 * models answer again elsewhere; a draining instance loses no request; etcd going away leaves
 * loaded models served and control-plane writes answered 503.
 */
import { writeFile } from "node:fs/promises"
import * as grpc from "@grpc/grpc-js"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeModel } from "@meshkit/onnx-models"
import { grpcChannelOptions, loadGrpcDefinition, startLocalCluster, type LocalCluster } from "@meshkit/server"
import { ensureEtcd } from "../packages/server/test/support/etcd.js"
import { BIN, removeDir, ROOT, tempDir } from "./server-harness.js"

const MODELS = 24
const HOT = "model-0023"
let dir = ""
let cluster: LocalCluster

const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array(64).fill(0.25) }] })
const infer = (url: string, model: string) =>
  fetch(`${url}/v2/models/${model}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(30_000) })
const urls = () => cluster.instances.filter((x) => x.child.exitCode === null && x.child.signalCode === null).map((x) => x.url)
const modelId = (i: number) => `model-${String(i).padStart(4, "0")}`

/** Successful loads an instance has done, from its /metrics. */
const loadsOn = async (url: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text()
  const m = /^meshkit_load_duration_seconds_count\{outcome="success"\} (\d+)/m.exec(text)
  return m ? Number(m[1]) : 0
}
const clusterLoads = async () => (await Promise.all(urls().map(loadsOn))).reduce((a, b) => a + b, 0)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const eventually = async <A>(what: string, f: () => Promise<A | undefined>, ms: number): Promise<A> => {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms${last ? `: ${String(last)}` : ""}`)
    await sleep(200)
  }
}

beforeAll(async () => {
  const etcdBin = ensureEtcd()
  dir = await tempDir("cluster-models")
  for (let i = 0; i < MODELS; i++) await writeFile(join(dir, `${modelId(i)}.onnx`), makeModel({ sizeBytes: 256 * 1024 }, i))
  // The hot model may have two copies; the others one.
  await writeFile(join(dir, `${HOT}.json`), JSON.stringify({ maxCopies: 2 }))
  cluster = await startLocalCluster({
    instances: 3,
    etcdBin,
    serveCommand: [process.execPath, BIN, "serve"],
    serveArgs: [
      "--models", dir,
      "--memory", "64MiB",
      "--lease-ttl", "3s",
      "--etcd-timeout", "2s",
      "--scaling", JSON.stringify({ name: "modelmesh", options: { rpmPerCopy: 60, intervalMs: 1000 } }),
      "--log-level", "warn"
    ],
    cwd: ROOT,
    // gRPC on the first instance only: the others (--grpc-port off) must still take forwarded gRPC calls.
    grpc: (i) => i === 0,
    readyTimeoutMs: 90_000
  })
}, 180_000)

afterAll(async () => {
  await cluster?.stop()
  await removeDir(dir)
}, 60_000)

describe("cluster mode", () => {
  it("lists every instance and one leader in /v1/cluster", async () => {
    const snap = await eventually(
      "three instances and a leader",
      async () => {
        const s = (await (await fetch(`${cluster.instances[0]!.url}/v1/cluster`)).json()) as { instances: { id: string }[]; leader: string | null }
        return s.instances.length === 3 && s.leader !== null ? s : undefined
      },
      20_000
    )
    expect(snap.instances.map((i) => i.id).sort()).toEqual(cluster.instances.map((x) => x.id).sort())
    expect(cluster.instances.map((x) => x.id)).toContain(snap.leader)
  })

  it("serves all 24 models through any instance", async () => {
    const us = urls()
    for (let i = 0; i < MODELS - 1; i++) {
      const r = await infer(us[i % us.length]!, modelId(i))
      expect(r.status, `${modelId(i)} via ${us[i % us.length]}: ${await r.clone().text()}`).toBe(200)
      const out = (await r.json()) as { outputs: { shape: number[] }[] }
      expect(out.outputs[0]!.shape).toEqual([1, 10])
    }
    // Each model again, through another instance: served from the copy that exists, no new load.
    const before = await clusterLoads()
    for (let i = 0; i < MODELS - 1; i++) expect((await infer(us[(i + 1) % us.length]!, modelId(i))).status).toBe(200)
    expect(await clusterLoads()).toBe(before)
  }, 120_000)

  it("forwards a gRPC ModelInfer as its bytes to an instance whose gRPC listener is off", async () => {
    const first = cluster.instances[0]!
    // A model held only by an instance whose gRPC listener is off (the previous test loaded them all).
    let model = ""
    let holderId = ""
    for (let i = 0; i < MODELS - 1 && model === ""; i++) {
      const copies = ((await (await fetch(`${first.url}/v1/models/${modelId(i)}`)).json()) as { copies: { instanceId: string }[] }).copies
      if (copies.length === 1 && copies[0]!.instanceId !== first.id) [model, holderId] = [modelId(i), copies[0]!.instanceId]
    }
    expect(model, "some model is held only by an instance without gRPC").not.toBe("")
    const second = cluster.instances.find((x) => x.id === holderId)!
    expect(second.grpcPort).toBeUndefined()
    const { GRPCInferenceService } = loadGrpcDefinition()
    const client = new GRPCInferenceService(`127.0.0.1:${first.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as unknown as Record<
      string,
      (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: any) => void) => void
    >
    const call = (req: unknown) => new Promise<any>((resolve, reject) => client.ModelInfer!(req, new grpc.Metadata(), (err, res) => (err ? reject(err) : resolve(res))))
    const data = Array(64).fill(0.25)
    const out = await call({ model_name: model, inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], contents: { fp32_contents: data } }] })
    expect(out.model_name).toBe(model)
    expect(out.outputs[0].shape.map(Number)).toEqual([1, 10])
    // Same numbers as the REST answer from the holder.
    const rest = (await (await infer(second.url, model)).json()) as { outputs: { data: number[] }[] }
    expect(Float32Array.from(out.outputs[0].contents.fp32_contents)).toEqual(Float32Array.from(rest.outputs[0]!.data))
    // Errors keep their kind across the hop: a bad input is INVALID_ARGUMENT, not a 500.
    await expect(call({ model_name: model, inputs: [{ name: "input", datatype: "FP32", shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT
    })
    expect(((await (await fetch(`${first.url}/v1/models/${model}`)).json()) as { status: string }).status).toBe("NOT_LOADED")
    ;(client as unknown as grpc.Client).close()
  })

  it("forwards each ModelStreamInfer request the same way, answering inside the stream", async () => {
    const first = cluster.instances[0]!
    // A model held elsewhere (loaded by the tests above) and the answer its holder gives.
    let model = ""
    for (let i = 0; i < MODELS - 1 && model === ""; i++) {
      const copies = ((await (await fetch(`${first.url}/v1/models/${modelId(i)}`)).json()) as { copies: { instanceId: string }[] }).copies
      if (copies.length === 1 && copies[0]!.instanceId !== first.id) model = modelId(i)
    }
    expect(model, "some model is held only by another instance").not.toBe("")
    const rest = (await (await infer(first.url, model)).json()) as { outputs: { data: number[] }[] }
    const { GRPCInferenceService } = loadGrpcDefinition()
    const client = new GRPCInferenceService(`127.0.0.1:${first.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as unknown as grpc.Client & {
      ModelStreamInfer(): grpc.ClientDuplexStream<unknown, any>
    }
    const stream = client.ModelStreamInfer()
    const got: any[] = []
    const ended = new Promise<void>((resolve, reject) => {
      stream.on("data", (m: any) => got.push(m))
      stream.on("end", () => resolve())
      stream.on("error", reject)
    })
    const req = (id: string, shape: number[], data: number[]) => ({ model_name: model, id, inputs: [{ name: "input", datatype: "FP32", shape, contents: { fp32_contents: data } }] })
    stream.write(req("a", [1, 64], Array(64).fill(0.25)))
    stream.write(req("b", [1, 3], [1, 2, 3]))
    stream.write(req("c", [1, 64], Array(64).fill(0.25)))
    stream.end()
    await ended
    expect(got.map((m) => m.infer_response?.id ?? m.error_message.slice(0, 0))).toEqual(["a", "", "c"])
    expect(got[1].error_message).not.toBe("")
    for (const i of [0, 2]) expect(Float32Array.from(got[i].infer_response.outputs[0].contents.fp32_contents)).toEqual(Float32Array.from(rest.outputs[0]!.data))
    expect(((await (await fetch(`${first.url}/v1/models/${model}`)).json()) as { status: string }).status).toBe("NOT_LOADED")
    client.close()
  })

  it("30 concurrent first requests for one model over 3 instances cause exactly one load in the cluster", async () => {
    const before = await clusterLoads()
    const us = urls()
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => infer(us[i % us.length]!, HOT).then((r) => r.status)))
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    expect(await clusterLoads()).toBe(before + 1)
  }, 60_000)

  it("adds a copy of a hot model, within its maxCopies", async () => {
    const us = urls()
    const copies = await eventually(
      "a second copy of the hot model",
      async () => {
        await Promise.all(us.map((u) => Promise.all(Array.from({ length: 10 }, () => infer(u, HOT)))))
        const m = (await (await fetch(`${us[0]}/v1/models/${HOT}`)).json()) as { copies?: { instanceId: string }[] }
        return (m.copies?.length ?? 0) >= 2 ? m.copies : undefined
      },
      30_000
    )
    expect(copies!.length).toBe(2)
    // However hot, never beyond maxCopies = 2.
    await Promise.all(us.map((u) => Promise.all(Array.from({ length: 20 }, () => infer(u, HOT)))))
    await sleep(2500)
    const m = (await (await fetch(`${us[0]}/v1/models/${HOT}`)).json()) as { copies: unknown[] }
    expect(m.copies.length).toBeLessThanOrEqual(2)
  }, 60_000)

  it("after kill -9 of an instance every model answers again within 15 s, and the registry is intact", async () => {
    const victim = cluster.instances[1]!
    victim.child.kill("SIGKILL")
    await new Promise((r) => victim.child.once("exit", r))
    const t0 = Date.now()
    const us = urls()
    const pending = new Set(Array.from({ length: MODELS }, (_, i) => modelId(i)))
    while (pending.size > 0 && Date.now() - t0 < 15_000) {
      for (const m of [...pending]) {
        const r = await infer(us[pending.size % us.length]!, m).catch(() => undefined)
        if (r?.status === 200) pending.delete(m)
      }
    }
    expect([...pending]).toEqual([])
    const listed = (await (await fetch(`${us[0]}/v1/models`)).json()) as { models?: { id: string }[] } | { id: string }[]
    const ids = (Array.isArray(listed) ? listed : (listed.models ?? [])).map((m) => m.id)
    for (let i = 0; i < MODELS; i++) expect(ids).toContain(modelId(i))
    // The same instance comes back with the same id: it holds nothing and claims nothing.
    const back = await cluster.restart(1)
    const snap = await eventually(
      "the restarted instance in the cluster",
      async () => {
        const s = (await (await fetch(`${back.url}/v1/cluster`)).json()) as { instances: { id: string; models: string[] }[] }
        return s.instances.length === 3 ? s : undefined
      },
      20_000
    )
    expect(snap.instances.find((i) => i.id === back.id)!.models).toEqual([])
  }, 120_000)

  it("loses no request while an instance drains on SIGTERM", async () => {
    const draining = cluster.instances[2]!
    const others = cluster.instances.filter((x) => x !== draining).map((x) => x.url)
    // Models loaded on the instance that will drain.
    const held = ((await (await fetch(`${draining.url}/v1/cluster`)).json()) as { instances: { id: string; models: string[] }[] }).instances.find(
      (i) => i.id === draining.id
    )!.models
    const targets = held.length > 0 ? held : [modelId(0)]
    let stop = false
    const failures: string[] = []
    let served = 0
    const loop = async (u: string) => {
      for (let i = 0; !stop; i++) {
        const m = targets[i % targets.length]!
        const r = await infer(u, m).catch((e: Error) => ({ status: 0, text: async () => e.message }))
        if (r.status === 200) served++
        else failures.push(`${m}: ${r.status} ${await r.text()}`)
      }
    }
    const loops = others.flatMap((u) => [loop(u), loop(u)])
    await sleep(500)
    draining.child.kill("SIGTERM")
    await new Promise((r) => draining.child.once("exit", r))
    await sleep(1000)
    stop = true
    await Promise.all(loops)
    expect(failures.length, failures.slice(0, 5).join("\n")).toBe(0)
    expect(served).toBeGreaterThan(20)
    await cluster.restart(2)
  }, 120_000)

  it("keeps serving loaded models while etcd is down, answers writes 503, and recovers when it is back", async () => {
    const us = urls()
    for (const u of us) expect((await infer(u, modelId(0))).status).toBe(200)
    await cluster.etcd.stop()
    try {
      for (const u of us) expect((await infer(u, modelId(0))).status).toBe(200)
      const t0 = Date.now()
      const r = await fetch(`${us[0]}/v1/models`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "late-model", uri: join(dir, `${modelId(1)}.onnx`) })
      })
      expect(r.status).toBe(503)
      expect(((await r.json()) as { error: string }).error).toMatch(/etcd/i)
      expect(Date.now() - t0).toBeLessThan(10_000)
    } finally {
      await cluster.etcd.restart()
    }
    const created = await eventually(
      "a registration after etcd is back",
      async () => {
        const r = await fetch(`${us[0]}/v1/models`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: "late-model", uri: join(dir, `${modelId(1)}.onnx`) })
        })
        return r.status === 200 || r.status === 201 ? r.status : undefined
      },
      30_000
    )
    expect([200, 201]).toContain(created)
    // Seen by every instance, and servable through any; nothing registered before is lost.
    for (const u of us) await eventually(`late-model via ${u}`, async () => ((await infer(u, "late-model")).status === 200 ? true : undefined), 15_000)
    const listed = (await (await fetch(`${us[1]}/v1/models`)).json()) as { models?: { id: string }[] } | { id: string }[]
    const ids = (Array.isArray(listed) ? listed : (listed.models ?? [])).map((m) => m.id)
    for (let i = 0; i < MODELS; i++) expect(ids).toContain(modelId(i))
  }, 120_000)
})
