import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { RuntimeError, type Tensor } from "../src/runtimes/runtime.js"
import { decodeUbjson, UbjsonError } from "../src/runtimes/xgboost/ubjson.js"
import { forestBytes } from "../src/runtimes/xgboost/predict.js"
import { parseModelFile } from "../src/runtimes/xgboost/model.js"
import { makeXgboostRuntime, MODEL_OVERHEAD_BYTES } from "../src/runtimes/xgboost/runtime.js"
import { mismatch, rowsData, trainedXgboostModels, type XgbModels } from "./support/xgboost-models.js"

// Trained by real XGBoost (Debian's python3-xgboost, installed by the harness when missing).
let models: XgbModels
let scratch: string
beforeAll(() => {
  models = trainedXgboostModels()
  scratch = mkdtempSync(join(tmpdir(), "meshkit-xgb-test-"))
}, 300_000)
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const runtime = makeXgboostRuntime()
const input = (data: Float32Array, rows: number, nf: number): Tensor => ({ name: "input__0", datatype: "FP32", shape: [rows, nf], data })
const REQUIRED = ["reg:squarederror", "reg:logistic", "binary:logistic", "binary:logitraw", "multi:softprob", "multi:softmax", "count:poisson", "rank:pairwise"]

describe("the XGBoost runtime against Booster.predict", () => {
  it("the trained cases cover every required objective, gbtree and dart, with missing values", () => {
    const objectives = new Set(models.cases.map((c) => c.objective))
    for (const o of REQUIRED) expect(objectives, o).toContain(o)
    expect(new Set(models.cases.map((c) => c.booster))).toEqual(new Set(["gbtree", "dart"]))
    for (const c of models.cases) expect(c.rows.flat().filter((v) => v === null).length, c.name).toBeGreaterThan(c.numFeature)
    expect(models.xgboostVersion).toMatch(/^1\.7\./)
  })

  for (const ext of [".xgb.json", ".ubj"]) {
    it(`answers equal XGBoost's for every case, from ${ext} files`, async () => {
      for (const c of models.cases) {
        const m = await runtime.load(join(models.dir, c.name + ext), c.name)
        expect(m.inputs).toEqual([{ name: "input__0", datatype: "FP32", shape: [-1, c.numFeature] }])
        expect(m.outputs).toEqual([{ name: "output__0", datatype: "FP32", shape: c.shape.length === 1 ? [-1] : [-1, c.shape[1]] }])
        const [out] = await m.infer([input(rowsData(c), c.rows.length, c.numFeature)])
        expect(out!.name).toBe("output__0")
        expect(out!.datatype).toBe("FP32")
        expect(out!.shape, c.name).toEqual(c.shape)
        expect(mismatch(out!.data as Float32Array, c.expected), `${c.name}${ext}`).toBeUndefined()
        await m.unload()
      }
    })
  }

  it("one row at a time gives the same answers as a batch crossing row blocks", async () => {
    for (const name of ["multi_softprob", "binary_logistic_dart", "reg_forest_deep"]) {
      const c = models.cases.find((x) => x.name === name)!
      const m = await runtime.load(join(models.dir, `${name}.ubj`), name)
      const reps = 5 // 5 × 41 rows: several blocks of 64, the last one partial
      const one = rowsData(c)
      const many = new Float32Array(one.length * reps)
      for (let k = 0; k < reps; k++) many.set(one, k * one.length)
      const [batch] = await m.infer([input(many, c.rows.length * reps, c.numFeature)])
      const per = c.expected.length / c.rows.length
      for (let k = 0; k < reps; k++) {
        expect(mismatch((batch!.data as Float32Array).subarray(k * c.expected.length, (k + 1) * c.expected.length), c.expected), name).toBeUndefined()
      }
      for (let r = 0; r < c.rows.length; r++) {
        const [single] = await m.infer([input(one.slice(r * c.numFeature, (r + 1) * c.numFeature), 1, c.numFeature)])
        expect(Array.from(single!.data as Float32Array)).toEqual(Array.from((batch!.data as Float32Array).subarray(r * per, (r + 1) * per)))
      }
    }
  })

  it("reports its resident size as the forest's typed arrays plus a fixed overhead, well under the JSON file", async () => {
    const c = models.cases.find((x) => x.name === "reg_forest_deep")!
    const json = join(models.dir, `${c.name}.xgb.json`)
    const ubj = join(models.dir, `${c.name}.ubj`)
    const forest = parseModelFile(readFileSync(ubj))
    const a = await runtime.load(json, c.name)
    const b = await runtime.load(ubj, c.name)
    expect(a.sizeBytes).toBe(forestBytes(forest) + MODEL_OVERHEAD_BYTES)
    expect(b.sizeBytes).toBe(a.sizeBytes)
    // 17 bytes per node (child, feature, threshold, leaf value, default_left), 16 per tree
    const nodes = forest.child.length
    expect(forestBytes(forest)).toBe(nodes * 17 + forest.numTrees * 16)
    expect(a.sizeBytes).toBeLessThan(statSync(json).size)
    // the prediction before load never under-counts what load measures
    expect(await runtime.predictSize(json)).toBeGreaterThanOrEqual(a.sizeBytes)
    expect(await runtime.predictSize(ubj)).toBeGreaterThanOrEqual(b.sizeBytes)
  })
})

describe("the XGBoost runtime's errors", () => {
  const edited = (name: string, edit: (doc: any) => void): string => {
    const doc = JSON.parse(readFileSync(join(models.dir, `${name}.xgb.json`), "utf8"))
    edit(doc)
    const path = join(scratch, `${name}-${Math.random().toString(36).slice(2)}.xgb.json`)
    writeFileSync(path, JSON.stringify(doc))
    return path
  }
  const loadError = async (path: string): Promise<RuntimeError> => {
    const e = await runtime.load(path, "m").then(
      () => undefined,
      (x: unknown) => x
    )
    expect(e).toBeInstanceOf(RuntimeError)
    expect((e as RuntimeError).kind).toBe("load")
    return e as RuntimeError
  }

  it("a file that is not a usable model fails to load with a reason naming what is wrong", async () => {
    const cases: Array<[string, RegExp]> = [
      [edited("reg_squarederror", (d) => (d.learner.gradient_booster.name = "gblinear")), /booster "gblinear" is not supported/],
      [edited("reg_squarederror", (d) => (d.learner.objective.name = "survival:aft")), /objective "survival:aft" is not supported/],
      [edited("reg_squarederror", (d) => (d.learner.gradient_booster.model.trees[0].split_type[0] = 1)), /categorical split/],
      [edited("reg_squarederror", (d) => (d.learner.gradient_booster.model.trees[1].split_indices[0] = 99)), /splits on feature 99, but the model has 8 features/],
      [edited("reg_squarederror", (d) => (d.learner.gradient_booster.model.trees[2].left_children[0] = 500)), /children 500/],
      [edited("reg_squarederror", (d) => d.learner.gradient_booster.model.tree_info.pop()), /tree_info has 11 entries for 12 trees/],
      [edited("binary_logistic", (d) => (d.learner.learner_model_param.base_score = "1.5")), /base_score 1.5 must lie in \(0, 1\)/],
      [edited("binary_logistic", (d) => delete d.learner), /learner is missing/]
    ]
    for (const [path, why] of cases) expect((await loadError(path)).message).toMatch(why)
    const bad = join(scratch, "garbage.ubj")
    const good = readFileSync(join(models.dir, "reg_squarederror.ubj"))
    writeFileSync(bad, good.subarray(0, good.length - 100))
    expect((await loadError(bad)).message).toMatch(/is not a usable XGBoost model: neither JSON nor valid UBJSON: UBJSON: truncated/)
    writeFileSync(bad, "{ not json")
    expect((await loadError(bad)).message).toMatch(/not valid JSON/)
    expect((await loadError(join(scratch, "absent.ubj"))).message).toMatch(/cannot read/)
  })

  it("a request that does not fit the model is a caller mistake (kind input), and an unloaded model refuses", async () => {
    const c = models.cases.find((x) => x.name === "binary_logistic")!
    const m = await runtime.load(join(models.dir, `${c.name}.ubj`), c.name)
    const kindOf = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => (e instanceof RuntimeError ? `${e.kind}: ${e.message}` : String(e)))
    expect(await kindOf(m.infer([input(new Float32Array(7 * 2), 2, 7)]))).toMatch(/^input: .*does not match the model's \[-1,8\]/)
    expect(await kindOf(m.infer([{ name: "input__0", datatype: "FP64", shape: [1, 8], data: new Float64Array(8) }]))).toMatch(/^input: .*datatype FP64/)
    expect(await kindOf(m.infer([input(new Float32Array(8), 1, 8)], ["probabilities"]))).toMatch(/^input: unknown output "probabilities"/)
    expect(await kindOf(m.infer([input(new Float32Array(8), 1, 8)], ["output__0"]))).toBe("ok")
    const [empty] = await m.infer([input(new Float32Array(0), 0, 8)])
    expect(empty!.shape).toEqual([0])
    await m.unload()
    expect(await kindOf(m.infer([input(new Float32Array(8), 1, 8)]))).toMatch(/^infer: model binary_logistic is unloaded/)
  })
})

describe("the UBJSON decoder", () => {
  const b = (...parts: Array<number | string>) => Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p)] : [p])))
  it("reads scalars, strings, objects, counted and typed arrays (big-endian), and skips no-ops", () => {
    const v = decodeUbjson(
      b("{", "U", 1, "a", "l", 0, 0, 1, 0, "i", 1, "b", "[", "T", "F", "Z", "N", "S", "U", 2, "hi", "]",
        "U", 1, "c", "[", "$", "d", "#", "U", 2, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0,
        "U", 1, "d", "[", "#", "i", 2, "D", 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, "L", 0, 0, 0, 0, 0, 0, 0, 7, "}")
    )
    expect(v).toEqual({ a: 256, b: [true, false, null, "hi"], c: Float32Array.of(1, -2), d: [1.5, 7] })
  })
  it("passes over skipped keys without building them, and still checks their bytes are there", () => {
    const doc = b("{", "U", 1, "a", "[", "$", "l", "#", "U", 1, 0, 0, 0, 9, "U", 1, "b", "[", "$", "d", "#", "U", 1, 0x3f, 0x80, 0, 0, "}")
    expect(decodeUbjson(doc, new Set(["a"]))).toEqual({ b: Float32Array.of(1) })
    expect(() => decodeUbjson(doc.subarray(0, 10), new Set(["a"]))).toThrow(/truncated/)
  })
  it("names the fault and its offset", () => {
    expect(() => decodeUbjson(b("[", "$", "l", "#", "U", 3, 0, 0, 0, 1))).toThrow(UbjsonError)
    expect(() => decodeUbjson(b("[", "$", "l", "#", "U", 3, 0, 0, 0, 1))).toThrow(/truncated/)
    expect(() => decodeUbjson(b("{", "U", 1, "a", "X"))).toThrow(/expected a number, found marker 'X' at byte 5/)
    expect(() => decodeUbjson(b("T", "T"))).toThrow(/1 bytes left after the value/)
    expect(() => decodeUbjson(b("[", "$", "l", "U", 1))).toThrow(/must give its count/)
  })
})
