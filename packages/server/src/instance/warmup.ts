import type { Warmup, WarmupInput } from "../registry/warmup-schema.js"
import type { LoadedModel } from "../runtimes/runtime.js"
import { isDatatype, shapeSize, type Datatype, type Tensor, type TensorData, type TensorMeta } from "../tensor.js"
import { messageOf } from "../errors.js"

/**
 * Run a model's warm-up (registry/warmup-schema.ts) on a freshly loaded model, before it is
 * READY. Resolves when every sample has run; rejects with an Error whose message says which
 * sample failed and why (loading.ts turns it into the load's LoadFailed). Returns the runs made.
 */
export const runWarmup = async (spec: Warmup, model: LoadedModel): Promise<number> => {
  const samples = samplesOf(spec, model.inputs)
  let runs = 0
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!
    for (let n = 0; n < s.count; n++) {
      try {
        await model.infer(s.inputs)
        runs++
      } catch (err) {
        throw new Error(`warm-up sample ${i + 1} of ${samples.length} (run ${n + 1} of ${s.count}) failed: ${messageOf(err)}`)
      }
    }
  }
  return runs
}

interface Sample {
  readonly inputs: Tensor[]
  readonly count: number
}

const samplesOf = (spec: Warmup, inputs: ReadonlyArray<TensorMeta>): Sample[] => {
  if (!Array.isArray(spec)) {
    const simple = spec as Exclude<Warmup, ReadonlyArray<unknown>>
    const batch = simple.batchSize ?? 1
    const rng = seeded(1)
    const fill = simple.fill ?? "zero"
    const tensors = inputs.map((m): Tensor => {
      // The first variable dimension is the batch; any other variable one gets 1.
      const shape = m.shape.map((d, i) => (d >= 0 ? d : i === 0 ? batch : 1))
      return { name: m.name, datatype: m.datatype, shape, data: filled(m.datatype, shapeSize(shape), fill === "random" ? rng : undefined) }
    })
    return [{ inputs: tensors, count: simple.count ?? 1 }]
  }
  const rng = seeded(1)
  return (spec as ReadonlyArray<{ readonly inputs: Readonly<Record<string, WarmupInput>>; readonly count?: number }>).map((s, i) => ({
    inputs: Object.entries(s.inputs).map(([name, t]) => explicitTensor(name, t, rng, i + 1)),
    count: s.count ?? 1
  }))
}

const explicitTensor = (name: string, t: WarmupInput, rng: () => number, sample: number): Tensor => {
  const where = `warm-up sample ${sample}, input "${name}"`
  if (!isDatatype(t.datatype)) throw new Error(`${where}: unknown datatype ${JSON.stringify(t.datatype)}`)
  const given = (t.data !== undefined ? 1 : 0) + (t.random === true ? 1 : 0) + (t.zero === true ? 1 : 0)
  if (given !== 1) throw new Error(`${where}: give exactly one of "data", "random": true or "zero": true`)
  const n = shapeSize(t.shape)
  if (t.data === undefined) return { name, datatype: t.datatype, shape: t.shape, data: filled(t.datatype, n, t.random === true ? rng : undefined) }
  if (t.data.length !== n) throw new Error(`${where}: ${t.data.length} values for shape [${t.shape.join(", ")}] (${n} elements)`)
  return { name, datatype: t.datatype, shape: t.shape, data: fromValues(t.datatype, t.data, where) }
}

/** Zeros, or values from `rng` in [0, 1) (integers 0..99, booleans at random). */
const filled = (dt: Datatype, n: number, rng: (() => number) | undefined): TensorData => {
  const num = (): number => (rng === undefined ? 0 : dt === "FP32" || dt === "FP64" ? rng() : Math.floor(rng() * 100))
  switch (dt) {
    case "FP32":
      return Float32Array.from({ length: n }, num)
    case "FP64":
      return Float64Array.from({ length: n }, num)
    case "FP16":
      // raw half bits: 0 is 0x0000; a random value in [0, 1) as a half (exponent 14 or below)
      return Uint16Array.from({ length: n }, () => (rng === undefined ? 0 : 0x3800 + Math.floor(rng() * 0x400)))
    case "INT8":
      return Int8Array.from({ length: n }, num)
    case "UINT8":
      return Uint8Array.from({ length: n }, num)
    case "BOOL":
      return Uint8Array.from({ length: n }, () => (rng === undefined ? 0 : rng() < 0.5 ? 0 : 1))
    case "INT16":
      return Int16Array.from({ length: n }, num)
    case "UINT16":
      return Uint16Array.from({ length: n }, num)
    case "INT32":
      return Int32Array.from({ length: n }, num)
    case "UINT32":
      return Uint32Array.from({ length: n }, num)
    case "INT64":
      return BigInt64Array.from({ length: n }, () => BigInt(num()))
    case "UINT64":
      return BigUint64Array.from({ length: n }, () => BigInt(num()))
    case "BYTES":
      return Array.from({ length: n }, () => (rng === undefined ? "" : Math.floor(rng() * 1e9).toString(36)))
  }
}

const fromValues = (dt: Datatype, values: ReadonlyArray<number | string | boolean>, where: string): TensorData => {
  if (dt === "BYTES") return values.map((v) => String(v))
  const nums = values.map((v, i) => {
    if (typeof v === "boolean") return v ? 1 : 0
    if (typeof v === "number") return v
    throw new Error(`${where}: value ${i} is a string; ${dt} takes numbers`)
  })
  switch (dt) {
    case "FP32":
      return Float32Array.from(nums)
    case "FP64":
      return Float64Array.from(nums)
    case "FP16":
      throw new Error(`${where}: FP16 warm-up data is not supported; use "zero" or "random"`)
    case "INT8":
      return Int8Array.from(nums)
    case "UINT8":
    case "BOOL":
      return Uint8Array.from(nums)
    case "INT16":
      return Int16Array.from(nums)
    case "UINT16":
      return Uint16Array.from(nums)
    case "INT32":
      return Int32Array.from(nums)
    case "UINT32":
      return Uint32Array.from(nums)
    case "INT64":
      return BigInt64Array.from(nums, (v) => BigInt(Math.trunc(v)))
    case "UINT64":
      return BigUint64Array.from(nums, (v) => BigInt(Math.trunc(v)))
  }
}

/** A small deterministic generator (mulberry32): warm-up inputs are the same on every load. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
