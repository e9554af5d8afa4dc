import { linkSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeModel } from "@meshkit/onnx-models"
import type { TraceWindow } from "./trace-window.js"

/**
 * Step 2: real ONNX files for the window's models, at the scenario's sizes ÷ sizeScale. Files come
 * in sizes 10 % apart: one generated file per size, the models hard links to it under their own
 * names. Beside them, models the replay never requests: one to warm the server up, and
 * CALIBRATION_POINTS across the size range to time execution after the replay.
 */

const KIB = 1024
const MIN_FILE = 64 * KIB
const BUCKET_RATIO = 1.1
const CALIBRATION_POINTS = 5

export interface ModelFiles {
  readonly dir: string
  /** trace model number → server model name, and back */
  readonly nameOf: ReadonlyMap<number, string>
  readonly indexOf: ReadonlyMap<string, number>
  /** file size per trace model number (0 for models outside the window) */
  readonly fileBytes: Float64Array
  readonly calibration: ReadonlyArray<{ readonly name: string; readonly bytes: number }>
  /** model files actually generated (the rest are links) */
  readonly generated: number
}

/** names starting with this are the warm-up and calibration models, never part of the replay */
export const AUX_PREFIX = "zz-"
export const WARM_MODEL = `${AUX_PREFIX}warm`

/**
 * `maxCopies` (cluster runs): each replayed model may have that many copies (`<name>.json` beside
 * its file, as a user would write it); without it, the registry's default of one.
 */
export const writeModelFiles = (w: TraceWindow, o: { readonly workDir: string; readonly sizeScale: number; readonly maxCopies?: number }): ModelFiles => {
  const buckets = join(o.workDir, "buckets")
  const dir = join(o.workDir, "models")
  mkdirSync(buckets, { recursive: true })
  mkdirSync(dir, { recursive: true })
  const bucketFile = new Map<number, string>()
  const fileFor = (scenarioBytes: number): string => {
    const want = Math.max(MIN_FILE, scenarioBytes / o.sizeScale)
    const k = Math.round(Math.log(want / MIN_FILE) / Math.log(BUCKET_RATIO))
    let f = bucketFile.get(k)
    if (f === undefined) {
      f = join(buckets, `b${k}.onnx`)
      writeFileSync(f, makeModel({ sizeBytes: Math.round(MIN_FILE * BUCKET_RATIO ** k), seed: k + 1 }))
      bucketFile.set(k, f)
    }
    return f
  }
  const { table, used } = w
  const nameOf = new Map<number, string>()
  const indexOf = new Map<string, number>()
  const fileBytes = new Float64Array(table.ids.length)
  const taken = new Set<string>()
  for (const m of used) {
    let name = table.ids[m]!.replace(/[^A-Za-z0-9._-]/g, "_")
    while (taken.has(name) || name.startsWith(AUX_PREFIX)) name = `m_${name}`
    taken.add(name)
    nameOf.set(m, name)
    indexOf.set(name, m)
    const file = join(dir, `${name}.onnx`)
    linkSync(fileFor(table.sizes[m]!), file)
    if (o.maxCopies !== undefined) writeFileSync(join(dir, `${name}.json`), JSON.stringify({ maxCopies: o.maxCopies }))
    fileBytes[m] = statSync(file).size
  }
  const sortedSizes = used.map((m) => table.sizes[m]!).sort((a, b) => a - b)
  const calibration = Array.from({ length: CALIBRATION_POINTS }, (_, j) => {
    const name = `${AUX_PREFIX}calib-${j}`
    const file = join(dir, `${name}.onnx`)
    linkSync(fileFor(sortedSizes[Math.min(sortedSizes.length - 1, Math.round((j / (CALIBRATION_POINTS - 1)) * (sortedSizes.length - 1)))]!), file)
    return { name, bytes: statSync(file).size }
  })
  linkSync(fileFor(0), join(dir, `${WARM_MODEL}.onnx`))
  return { dir, nameOf, indexOf, fileBytes, calibration, generated: bucketFile.size }
}
