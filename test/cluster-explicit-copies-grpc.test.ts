/**
 * The gRPC side of test/cluster-explicit-copies.test.ts: KServe's RepositoryModelLoad /
 * RepositoryModelUnload and ModelMetadata (and Triton's ModelConfig) keep the copy map right in
 * cluster mode, on a real cluster: a real etcd, two real `meshkit serve --etcd` processes with
 * gRPC listeners, each with its own test runtime process, driven over real sockets with a client
 * built from the proto file the server ships.
 *
 *   - a repository load claims its copy; at maxCopies elsewhere it is ALREADY_EXISTS (the gRPC
 *     status of the REST 409, transport/grpc/errors.ts) naming the holders, and loads nothing;
 *   - a repository unload drops the instance's copy entry at once, not at the next sweep;
 *   - ModelMetadata / ModelConfig for a model at maxCopies elsewhere is answered from a holder,
 *     without loading a copy here.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GRPC_PROTO_PATH } from "@meshkit/server"
import { linearModel } from "../packages/server/test/support/test-runtime/process.js"
import { clientFrom, type AnyClient, unary } from "./support/grpc-client.js"
import { withRuntimeCluster, type Copy } from "./support/runtime-cluster.js"
import { eventually, getJson, json, postJson, type Served } from "./server-harness.js"

const ids = ["i0", "i1"]
// no scaling: copies come and go only as each test says
const cluster = withRuntimeCluster("explicit-copies-grpc", { ids, args: ["--scaling", "off"], grpc: true })
const { runtimes, servers } = cluster

let clients: AnyClient[] = []
beforeAll(() => {
  clients = servers.map((s) => clientFrom(GRPC_PROTO_PATH, "inference.GRPCInferenceService", s.grpcPort!))
})
afterAll(() => {
  for (const c of clients) c.close()
})

const copiesOf = async (s: Served, model: string): Promise<Copy[]> => ((await getJson(s, `/v1/models/${model}`)) as { copies: Copy[] }).copies
const holders = async (s: Served, model: string): Promise<string[]> => (await copiesOf(s, model)).map((c) => c.instanceId).sort()
const loadsOf = (i: number, model: string) => runtimes[i]!.of("loadModel").filter((e) => e.modelId === model).length
/** Register through i0 (linear model, maxCopies 1 unless told) and wait until i1 knows it too. */
const register = async (id: string, extra: Record<string, unknown> = {}) => {
  const uri = join(cluster.dir, `${id}.json`)
  await writeFile(uri, linearModel([[1, 2], [3, 4]], [0.5, -1]))
  const r = await postJson(servers[0]!, "/v1/models", { id, uri, format: "linear", ...extra })
  expect(r.status, await r.clone().text()).toBe(201)
  await r.arrayBuffer()
  await eventually(async () => (await fetch(`${servers[1]!.url}/v1/models/${id}`)).status === 200, 15_000)
}
const repositoryLoad = (i: number, model: string) => unary(clients[i]!, "RepositoryModelLoad", { repository_name: "", model_name: model })
const repositoryUnload = (i: number, model: string) => unary(clients[i]!, "RepositoryModelUnload", { repository_name: "", model_name: model })

describe("explicit loads, unloads and metadata over gRPC in cluster mode", () => {
  it("RepositoryModelLoad claims the copy; at maxCopies elsewhere it answers ALREADY_EXISTS naming the holder and loads nothing", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("g-explicit") // maxCopies 1
    expect(await repositoryLoad(0, "g-explicit")).toEqual({ model_name: "g-explicit", isLoaded: true })
    expect(await holders(s1, "g-explicit"), "the load over gRPC listed its copy").toEqual(["i0"])
    const refused = await repositoryLoad(1, "g-explicit").then(
      () => undefined,
      (err: grpc.ServiceError) => err
    )
    expect(refused, "i1 loaded a second copy of a model with maxCopies 1").toBeDefined()
    expect(refused!.code, refused!.details).toBe(grpc.status.ALREADY_EXISTS)
    expect(refused!.details).toMatch(/already has its maximum of 1 copy \(on i0\)/)
    expect(loadsOf(1, "g-explicit"), "i1 loaded nothing").toBe(0)
    expect((await getJson(s1, "/v1/models/g-explicit")).status).toBe("NOT_LOADED")
    expect(await holders(s1, "g-explicit")).toEqual(["i0"])
    // Loading again where the copy is: answered, nothing new loaded.
    expect(await repositoryLoad(0, "g-explicit")).toEqual({ model_name: "g-explicit", isLoaded: true })
    expect(loadsOf(0, "g-explicit")).toBe(1)
  }, 60_000)

  it("RepositoryModelUnload drops the instance's copy entry at once, not at the next sweep", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("g-gone", { maxCopies: 2 })
    for (const i of [0, 1]) await repositoryLoad(i, "g-gone")
    const claimedBy = Date.now()
    await eventually(async () => (await holders(s1, "g-gone")).length === 2, 5_000)
    for (const [i, left] of [[0, ["i1"]], [1, []]] as const) {
      await repositoryUnload(i, "g-gone")
      // seen from both instances: the other stops counting and routing to the copy
      for (const t of [s0, s1]) await eventually(async () => JSON.stringify(await holders(t, "g-gone")) === JSON.stringify(left), 1_500)
    }
    // Well inside the 10 s a stale entry is kept by the sweep: the unloads dropped the entries.
    expect(Date.now() - claimedBy).toBeLessThan(8_000)
    expect(runtimes[0]!.of("unloadModel").filter((e) => e.modelId === "g-gone").length).toBe(1)
    expect(runtimes[1]!.of("unloadModel").filter((e) => e.modelId === "g-gone").length).toBe(1)
    for (const s of [s0, s1]) expect((await getJson(s, "/v1/models/g-gone")).status).toBe("NOT_LOADED")
  }, 60_000)

  it("ModelMetadata and ModelConfig for a model at maxCopies elsewhere answer from the holder without loading it here", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("g-described") // maxCopies 1
    await repositoryLoad(0, "g-described")
    await eventually(async () => (await copiesOf(s1, "g-described")).some((c) => c.instanceId === "i0" && c.status === "LOADED"), 10_000)
    const expected = await unary(clients[0]!, "ModelMetadata", { name: "g-described", version: "" })
    expect(expected.inputs.length, JSON.stringify(expected)).toBeGreaterThan(0)
    const md = await unary(clients[1]!, "ModelMetadata", { name: "g-described", version: "" })
    expect(md.name).toBe("g-described")
    expect({ inputs: md.inputs, outputs: md.outputs }).toEqual({ inputs: expected.inputs, outputs: expected.outputs })
    const config = await unary(clients[1]!, "ModelConfig", { name: "g-described", version: "" })
    expect(config.config.input.map((t: { name: string }) => t.name)).toEqual(expected.inputs.map((t: { name: string }) => t.name))
    expect(loadsOf(1, "g-described"), "i1 loaded the model to describe it").toBe(0)
    expect((await getJson(s1, "/v1/models/g-described")).status).toBe("NOT_LOADED")
    expect(await holders(s1, "g-described")).toEqual(["i0"])
    // With no copy anywhere, describing it over gRPC loads a copy here, claimed.
    await register("g-described-cold")
    const cold = await unary(clients[1]!, "ModelMetadata", { name: "g-described-cold", version: "" })
    expect(cold.inputs.length).toBeGreaterThan(0)
    expect(loadsOf(1, "g-described-cold")).toBe(1)
    expect(await holders(s0, "g-described-cold")).toEqual(["i1"])
  }, 60_000)
})
