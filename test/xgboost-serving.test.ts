import * as grpc from "@grpc/grpc-js"
import { copyFileSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition, xgboost } from "@meshkit/server"
import { mismatch, rowsData, trainedXgboostModels, type XgbCase, type XgbModels } from "../packages/server/test/support/xgboost-models.js"
import { getJson, json, postJson, repositoryIndex, withServer } from "./server-harness.js"

/**
 * XGBoost models served end to end by a real `meshkit serve`: found in --models DIR
 * (`<name>.xgb.json`, `<name>.ubj`, beside a `<name>.json` metadata file) or registered with
 * format "xgboost"; every trained case answered over REST with the binary tensor extension
 * (NaN = missing), REST JSON (null = missing) and gRPC raw contents, each equal to XGBoost's own
 * Booster.predict (real XGBoost 1.7 trained the models; see packages/server/test/support).
 */
let models: XgbModels
let client: grpc.Client & Record<string, Function>
const grpcCall = <T = any>(method: string, request: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method]!(request, new grpc.Metadata(), (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))))

// from the directory: one JSON file, one UBJSON file with a metadata file beside it
const IN_DIR: Record<string, string> = { binary_logistic_dart: ".xgb.json", multi_softprob: ".ubj" }

const fixture = withServer("xgboost", {
  prepare: async (dir) => {
    models = trainedXgboostModels()
    for (const [name, ext] of Object.entries(IN_DIR)) copyFileSync(join(models.dir, name + ext), join(dir, `dir_${name}${ext}`))
    writeFileSync(join(dir, "dir_multi_softprob.json"), JSON.stringify({ tenant: "acme", labels: { kind: "trees" } }))
  },
  args: (dir) => ["--models", dir, "--model-roots", models.dir, "--memory", "256MiB", "--data-dir", join(dir, "data"), "--log-level", "warn"],
  ready: async ({ server }) => {
    // every case registered through the API, alternating the two file formats
    for (const [i, c] of models.cases.entries()) {
      const uri = join(models.dir, c.name + (i % 2 === 0 ? ".ubj" : ".xgb.json"))
      const res = await postJson(server, "/v1/models", { id: c.name, uri, format: "xgboost" })
      expect(res.status, await res.clone().text()).toBe(201)
    }
    const { GRPCInferenceService } = loadGrpcDefinition()
    client = new GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as any
  }
})
afterAll(() => client?.close())

const restBinary = async (model: string, c: XgbCase): Promise<{ shape: number[]; data: Float32Array }> => {
  const x = rowsData(c)
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: "input__0", shape: [c.rows.length, c.numFeature], datatype: "FP32", parameters: { binary_data_size: x.byteLength } }],
      outputs: [{ name: "output__0", parameters: { binary_data: true } }]
    })
  )
  const res = await fetch(`${fixture.server.url}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
    body: Buffer.concat([header, Buffer.from(x.buffer)])
  })
  expect(res.status, model).toBe(200)
  const hl = Number(res.headers.get("inference-header-content-length"))
  const bytes = Buffer.from(await res.arrayBuffer())
  const out = JSON.parse(bytes.subarray(0, hl).toString()).outputs[0]
  expect(out).toMatchObject({ name: "output__0", datatype: "FP32" })
  return { shape: out.shape, data: new Float32Array(Uint8Array.from(bytes.subarray(hl)).buffer) }
}

const restJson = async (model: string, c: XgbCase): Promise<{ shape: number[]; data: number[] }> => {
  const res = await postJson(fixture.server, `/v2/models/${model}/infer`, {
    inputs: [{ name: "input__0", shape: [c.rows.length, c.numFeature], datatype: "FP32", data: c.rows }]
  })
  const body = await json(res)
  expect(res.status, JSON.stringify(body)).toBe(200)
  expect(body.outputs[0]).toMatchObject({ name: "output__0", datatype: "FP32" })
  return body.outputs[0]
}

const grpcRaw = async (model: string, c: XgbCase): Promise<{ shape: number[]; data: Float32Array }> => {
  const x = rowsData(c)
  const res = await grpcCall<any>("ModelInfer", {
    model_name: model,
    inputs: [{ name: "input__0", datatype: "FP32", shape: [c.rows.length, c.numFeature] }],
    raw_input_contents: [Buffer.from(x.buffer)]
  })
  expect(res.outputs[0]).toMatchObject({ name: "output__0", datatype: "FP32" })
  return { shape: res.outputs[0].shape.map(Number), data: new Float32Array(Uint8Array.from(res.raw_output_contents[0]).buffer) }
}

describe("XGBoost models served end to end", () => {
  it("finds <name>.xgb.json and <name>.ubj in the models directory, with <name>.json as their metadata", async () => {
    const index = await repositoryIndex(fixture.server)
    expect(Object.keys(index)).toEqual(expect.arrayContaining(["dir_binary_logistic_dart", "dir_multi_softprob"]))
    expect(Object.keys(index)).not.toContain("dir_multi_softprob.json")
    const status = await getJson(fixture.server, "/v1/models/dir_multi_softprob")
    expect(status).toMatchObject({ tenant: "acme", format: "xgboost" })
    for (const name of Object.keys(IN_DIR)) {
      const c = models.cases.find((x) => x.name === name)!
      const out = await restBinary(`dir_${name}`, c)
      expect(out.shape).toEqual(c.shape)
      expect(mismatch(out.data, c.expected), name).toBeUndefined()
    }
  })

  it("shows Triton FIL's tensors in the model metadata", async () => {
    const meta = await getJson(fixture.server, "/v2/models/multi_softprob")
    expect(meta).toMatchObject({
      name: "multi_softprob",
      platform: "xgboost",
      inputs: [{ name: "input__0", datatype: "FP32", shape: [-1, 8] }],
      outputs: [{ name: "output__0", datatype: "FP32", shape: [-1, 4] }]
    })
    expect((await getJson(fixture.server, "/v2/models/binary_logistic")).outputs).toEqual([{ name: "output__0", datatype: "FP32", shape: [-1] }])
  })

  it("answers every case equal to Booster.predict over REST binary (NaN), REST JSON (null) and gRPC raw contents", async () => {
    for (const c of models.cases) {
      const bin = await restBinary(c.name, c)
      expect(bin.shape, c.name).toEqual(c.shape)
      expect(mismatch(bin.data, c.expected), `${c.name} REST binary`).toBeUndefined()
      const js = await restJson(c.name, c)
      expect(js.shape, c.name).toEqual(c.shape)
      expect(mismatch(js.data, c.expected), `${c.name} REST JSON`).toBeUndefined()
      const raw = await grpcRaw(c.name, c)
      expect(raw.shape, c.name).toEqual(c.shape)
      expect(mismatch(raw.data, c.expected), `${c.name} gRPC raw`).toBeUndefined()
    }
  })

  it("reports the forest's measured size (its typed arrays + a fixed overhead), below the model file", async () => {
    for (const name of ["reg_forest_deep", "multi_softprob"]) {
      const status = await getJson(fixture.server, `/v1/models/${name}`)
      expect(status.status).toBe("LOADED")
      const file = readFileSync(status.uri)
      expect(status.sizeBytes).toBe(xgboost.forestBytes(xgboost.parseModelFile(file)) + xgboost.MODEL_OVERHEAD_BYTES)
      expect(status.sizeBytes).toBeLessThan(file.length)
    }
  })

  it("a request with the wrong number of features is a 400 naming the expected shape", async () => {
    const res = await postJson(fixture.server, "/v2/models/binary_logistic/infer", { inputs: [{ name: "input__0", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] })
    expect(res.status).toBe(400)
    expect((await json(res)).error).toMatch(/\[-1,8\]/)
  })

  it("a file that is not an XGBoost model fails its load with a clear reason (503), and the server goes on", async () => {
    const bad = join(fixture.dir, "bad.ubj.bin")
    writeFileSync(bad, "{ \"learner\": { \"objective\": { \"name\": \"binary:logistic\" } } }")
    expect((await postJson(fixture.server, "/v1/models", { id: "bad", uri: bad, format: "xgboost" })).status).toBe(201)
    const res = await postJson(fixture.server, "/v2/models/bad/infer", { inputs: [{ name: "input__0", shape: [1, 1], datatype: "FP32", data: [1] }] })
    expect(res.status).toBe(503)
    expect((await json(res)).error).toMatch(/not a usable XGBoost model: learner.learner_model_param is missing/)
    expect((await restBinary("binary_logistic", models.cases.find((x) => x.name === "binary_logistic")!)).data.length).toBeGreaterThan(0)
  })
})
