import { copyFileSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { xgboost } from "@meshkit/server"
import { startMeshkit, timedInfer } from "../harness/servers.js"
import { FEATURES, type BenchModel } from "./reference.js"

/**
 * The miss path for XGBoost models: the first request for a model meshkit has not loaded
 * (HTTP round trip included) against what it cannot avoid — reading the same file, parsing and
 * flattening it and the first one-row prediction, in the bench process. Both sides are warm
 * (one model each before measuring), the files are in the page cache, which side goes first
 * alternates per model, and a pause before each measurement lets the other side's GC settle.
 */
export interface MissPath {
  readonly format: "ubj" | "json"
  readonly raw: number[]
  readonly meshkit: number[]
  /** a second request on the last model: the HTTP + serving cost alone */
  readonly warmMs: number[]
}

export const measureMissPath = async (model: BenchModel, workDir: string, count: number, progress: (l: string) => void): Promise<MissPath[]> => {
  const dir = join(workDir, "trees-cold")
  mkdirSync(dir, { recursive: true })
  const formats = [
    { format: "ubj" as const, src: model.ubj, ext: ".ubj" },
    { format: "json" as const, src: model.json, ext: ".xgb.json" }
  ]
  // +1 per format: each side's warm-up model
  for (const f of formats) for (let i = 0; i <= count; i++) copyFileSync(f.src, join(dir, `cold_${f.format}_${i}${f.ext}`))
  const row = Array.from(model.rows.subarray(0, FEATURES), (v) => (Number.isNaN(v) ? null : v))
  const body = JSON.stringify({ inputs: [{ name: "input__0", shape: [1, FEATURES], datatype: "FP32", data: row }] })
  const x = model.rows.subarray(0, FEATURES)
  const kept: xgboost.Forest[] = [] // the raw side keeps its forests, as meshkit keeps its models
  const rawMs = (file: string): number => {
    const t0 = performance.now()
    const forest = xgboost.loadForest(readFileSync(file), file, "raw")
    xgboost.predict(forest, x, 1)
    const ms = performance.now() - t0
    kept.push(forest)
    return ms
  }
  const server = await startMeshkit({ models: dir, memory: "1GiB", dataDir: join(workDir, "trees-cold-data"), extra: ["--log-level", "warn"] })
  try {
    const meshkitMs = async (name: string): Promise<number> => {
      const r = await timedInfer(server.inferUrl(name), body)
      if (r.status !== 200) throw new Error(`meshkit answered ${r.status} to the first request for ${name}: ${r.text.slice(0, 300)}`)
      return r.ms
    }
    const settle = () => new Promise((r) => setTimeout(r, 100))
    const out: MissPath[] = []
    for (const f of formats) {
      const file = (i: number) => join(dir, `cold_${f.format}_${i}${f.ext}`)
      const name = (i: number) => `cold_${f.format}_${i}`
      // warm-up: the raw side's JIT on its first file, meshkit's on a first model
      rawMs(file(0))
      await meshkitMs(name(0))
      const raw: number[] = []
      const mesh: number[] = []
      const warm: number[] = []
      for (let i = 1; i <= count; i++) {
        const rawFirst = i % 2 === 0
        if (rawFirst) await settle().then(() => raw.push(rawMs(file(i))))
        await settle()
        mesh.push(await meshkitMs(name(i)))
        warm.push(await meshkitMs(name(i)))
        if (!rawFirst) await settle().then(() => raw.push(rawMs(file(i))))
        progress(`cold ${f.format} ${i}/${count}: raw ${raw.at(-1)!.toFixed(2)} ms, meshkit ${mesh.at(-1)!.toFixed(2)} ms (warm ${warm.at(-1)!.toFixed(2)} ms)`)
      }
      out.push({ format: f.format, raw, meshkit: mesh, warmMs: warm })
    }
    return out
  } finally {
    await server.child.stop()
  }
}
