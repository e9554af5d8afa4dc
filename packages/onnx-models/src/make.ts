import { mkdir, open } from "node:fs/promises"
import { join } from "node:path"
import { encodeOnnxModel, rawDataRanges, type OnnxInitializer, type OnnxNode } from "./onnx-writer.js"

/**
 * Synthetic ONNX models for tests, benchmarks and demos: dense FP32 MLPs of about a requested
 * file size. `input` [N, inputDim] → (MatMul, Add, Relu) × layers → MatMul, Add → `output`
 * [N, classes], N variable. Weights are seeded, so a (seed, index) pair always gives the same
 * model and different indices give different models.
 */

export interface MlpShape {
  readonly inputDim: number
  readonly hidden: number
  readonly layers: number
  readonly classes: number
}

export interface MakeModelOptions {
  readonly sizeBytes: number
  readonly seed?: number
  /** Input features (default 64). */
  readonly inputDim?: number
  /** Output features (default 10). */
  readonly classes?: number
  /** Hidden layers (default 2). */
  readonly layers?: number
}

const DEFAULTS = { inputDim: 64, classes: 10, layers: 2, seed: 1 }

/** Floats of an MLP: weights and biases of every layer. */
export const mlpParameters = (s: MlpShape): number => {
  const { inputDim: d, hidden: h, layers: l, classes: k } = s
  return d * h + h + (l - 1) * (h * h + h) + h * k + k
}

/** Bytes of protobuf framing, names and graph around the raw weights (measured: 428 B with 2 layers, +~100 B per layer). */
const framingBytes = (layers: number): number => 230 + 100 * layers

/**
 * The hidden width whose MLP comes closest to `sizeBytes`. Throws RangeError when the closest
 * one is more than 10 % off (a request below what a width-1 network takes).
 */
export const planMlp = (sizeBytes: number, o: Omit<MakeModelOptions, "sizeBytes" | "seed"> = {}): MlpShape => {
  const inputDim = o.inputDim ?? DEFAULTS.inputDim
  const classes = o.classes ?? DEFAULTS.classes
  const layers = o.layers ?? DEFAULTS.layers
  for (const [k, v] of Object.entries({ inputDim, classes, layers })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`)
  }
  if (!Number.isFinite(sizeBytes) || sizeBytes <= 0) throw new RangeError(`size must be positive, got ${sizeBytes}`)
  // A single protobuf message (and so an ONNX file without external data) must stay below 2 GiB.
  if (sizeBytes > 1.5 * 2 ** 30) throw new RangeError(`size ${sizeBytes} is too large: ONNX files without external data stay below 2 GiB (use ≤ 1.5 GiB)`)
  const target = Math.max(0, (sizeBytes - framingBytes(layers)) / 4)
  // (layers-1)·h² + (d + k + layers)·h + k = target
  const a = layers - 1
  const b = inputDim + classes + layers
  const c = classes - target
  const exact = a === 0 ? -c / b : (-b + Math.sqrt(b * b - 4 * a * c)) / (2 * a)
  const hidden = Math.max(1, Math.round(exact))
  const shape = { inputDim, hidden, layers, classes }
  const bytes = mlpParameters(shape) * 4 + framingBytes(layers)
  if (Math.abs(bytes - sizeBytes) > sizeBytes * 0.1) {
    throw new RangeError(
      `size ${sizeBytes} bytes is too small for an MLP with input dim ${inputDim}, ${classes} outputs and ${layers} hidden layers (smallest ≈ ${bytes} bytes)`
    )
  }
  return shape
}

/**
 * Random weights of magnitude ≈ scale / 2 from xorshift32, written as float bits directly:
 * random sign and mantissa under a fixed exponent, i.e. uniform on ±[2^e, 2^(e+1)) with
 * 2^e ≈ scale / 3. Integer-only, so gigabytes of weights cost little more than writing them.
 */
const fillRandom = (out: Float32Array, state: { x: number }, scale: number): void => {
  // Int32 view: the bit pattern stays a small integer for the JIT (a Uint32 store would box).
  const bits = new Int32Array(out.buffer, out.byteOffset, out.length)
  const exponent = (Math.round(Math.log2(scale / 3)) + 127) << 23
  let x = state.x
  for (let i = 0; i < bits.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bits[i] = (x & 0x807fffff) | exponent
  }
  state.x = x
}

/** A per-model PRNG state from (seed, index); never 0 (xorshift's fixed point). */
const seedState = (seed: number, index: number): { x: number } => {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  return { x: h === 0 ? 1 : h }
}

/** Initializers in graph order with the scale their random values are drawn at. */
const mlpGraph = (shape: MlpShape) => {
  const { inputDim, hidden, layers, classes } = shape
  const initializers: (OnnxInitializer & { scale: number })[] = []
  const nodes: OnnxNode[] = []
  let prev = "input"
  let width = inputDim
  for (let l = 0; l <= layers; l++) {
    const last = l === layers
    const out = last ? classes : hidden
    // He-like scale keeps activations in a sane range through the ReLUs.
    initializers.push(
      { name: `w${l}`, dims: [width, out], data: new Float32Array(width * out), scale: Math.sqrt(6 / width) },
      { name: `b${l}`, dims: [out], data: new Float32Array(out), scale: 0.1 }
    )
    nodes.push({ op: "MatMul", inputs: [prev, `w${l}`], outputs: [`mm${l}`] })
    nodes.push({ op: "Add", inputs: [`mm${l}`, `b${l}`], outputs: [last ? "output" : `add${l}`] })
    if (!last) nodes.push({ op: "Relu", inputs: [`add${l}`], outputs: [`relu${l}`] })
    prev = `relu${l}`
    width = out
  }
  return {
    name: "meshkit_mlp",
    inputs: [{ name: "input", dims: ["N", inputDim] }],
    outputs: [{ name: "output", dims: ["N", classes] }],
    nodes,
    initializers
  }
}

/** ONNX bytes of the MLP `shape` with weights drawn from (seed, index). */
export const encodeMlp = (shape: MlpShape, seed: number, index = 0): Uint8Array => {
  const g = mlpGraph(shape)
  const rng = seedState(seed, index)
  for (const t of g.initializers) fillRandom(t.data, rng, t.scale)
  return encodeOnnxModel(g)
}

/**
 * Many models of one shape differ only in their weight bytes. Encode the model once with zero
 * weights, note where each initializer's raw bytes sit, and for every model write the template's
 * framing around freshly drawn weights with one writev: no protobuf encoding and no copy of the
 * weights per model. Produces exactly the bytes encodeMlp does.
 */
interface MlpTemplate {
  readonly bytes: Uint8Array
  readonly ranges: ReadonlyArray<{ readonly offset: number; readonly length: number; readonly scale: number }>
}

const mlpTemplate = (shape: MlpShape): MlpTemplate => {
  const g = mlpGraph(shape)
  const bytes = encodeOnnxModel(g)
  const ranges = rawDataRanges(bytes)
  if (ranges.length !== g.initializers.length) throw new Error("model template: initializer count mismatch")
  return { bytes, ranges: ranges.map((r, i) => ({ ...r, scale: g.initializers[i]!.scale })) }
}

/** The template's chunks with new weights for (seed, index), in file order. */
const mlpChunks = (t: MlpTemplate, seed: number, index: number): Uint8Array[] => {
  const rng = seedState(seed, index)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const r of t.ranges) {
    chunks.push(t.bytes.subarray(at, r.offset))
    const w = new Float32Array(r.length / 4)
    fillRandom(w, rng, r.scale)
    chunks.push(new Uint8Array(w.buffer))
    at = r.offset + r.length
  }
  chunks.push(t.bytes.subarray(at))
  return chunks
}

/** One model of about `sizeBytes`. */
export const makeModel = (o: MakeModelOptions, index = 0): Uint8Array =>
  encodeMlp(planMlp(o.sizeBytes, o), o.seed ?? DEFAULTS.seed, index)

/** The smallest useful model (2 → 2 → 2), e.g. to probe an execution provider. */
export const tinyModel = (): Uint8Array => encodeMlp({ inputDim: 2, hidden: 2, layers: 1, classes: 2 }, 1)

export interface MakeModelsOptions extends MakeModelOptions {
  readonly outDir: string
  readonly count: number
  /** File names are `<prefix>-<index>.onnx`, index zero-padded to at least 4 digits. */
  readonly prefix?: string
  readonly onProgress?: (done: number, count: number) => void
}

export interface MadeModels {
  readonly files: string[]
  readonly shape: MlpShape
  readonly totalBytes: number
}

/** Write `count` models into `outDir` (created if missing). */
export const makeModels = async (o: MakeModelsOptions): Promise<MadeModels> => {
  if (!Number.isSafeInteger(o.count) || o.count < 1) throw new RangeError(`count must be a positive integer, got ${o.count}`)
  const shape = planMlp(o.sizeBytes, o)
  const seed = o.seed ?? DEFAULTS.seed
  const prefix = o.prefix ?? "model"
  const width = Math.max(4, String(o.count - 1).length)
  await mkdir(o.outDir, { recursive: true })
  const files: string[] = []
  let totalBytes = 0
  const template = mlpTemplate(shape)
  // Generate the next models while earlier ones are being written (a few writes in flight).
  const writing = new Set<Promise<void>>()
  let done = 0
  for (let i = 0; i < o.count; i++) {
    const chunks = mlpChunks(template, seed, i)
    const file = join(o.outDir, `${prefix}-${String(i).padStart(width, "0")}.onnx`)
    while (writing.size >= 3) await Promise.race(writing)
    const w: Promise<void> = writeChunks(file, chunks).then(() => {
      writing.delete(w)
      o.onProgress?.(++done, o.count)
    })
    writing.add(w)
    files.push(file)
    totalBytes += template.bytes.byteLength
  }
  await Promise.all(writing)
  return { files, shape, totalBytes }
}

const writeChunks = async (file: string, chunks: Uint8Array[]): Promise<void> => {
  const fh = await open(file, "w")
  try {
    let left = chunks.reduce((n, c) => n + c.byteLength, 0)
    let pending = chunks
    // writev may write less than asked: continue from where it stopped.
    while (left > 0) {
      const { bytesWritten } = await fh.writev(pending)
      left -= bytesWritten
      let skip = bytesWritten
      const rest: Uint8Array[] = []
      for (const c of pending) {
        if (skip >= c.byteLength) skip -= c.byteLength
        else {
          rest.push(skip > 0 ? c.subarray(skip) : c)
          skip = 0
        }
      }
      pending = rest
    }
  } finally {
    await fh.close()
  }
}
