import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
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
 *
 * Besides wall time, CPU time: the server's (every thread's run time from /proc/PID/task/*
 * /schedstat, in ns) over its cold request, against the bench process's own CPU time over the
 * raw load. On a shared, oversubscribed machine wall times mostly measure waiting for a core;
 * CPU time measures the work each side did.
 */
const WARM_UPS = 3

export interface MissPath {
  readonly format: "ubj" | "json"
  readonly raw: number[]
  readonly meshkit: number[]
  /** CPU ms: the bench process over the raw load; the server over its cold request */
  readonly rawCpu: number[]
  readonly meshkitCpu: number[]
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
  // WARM_UPS more per format: each side's warm-up models (the decoder's loops need a few runs to be compiled)
  for (const f of formats) for (let i = 0; i < count + WARM_UPS; i++) copyFileSync(f.src, join(dir, `cold_${f.format}_${i}${f.ext}`))
  const row = Array.from(model.rows.subarray(0, FEATURES), (v) => (Number.isNaN(v) ? null : v))
  const body = JSON.stringify({ inputs: [{ name: "input__0", shape: [1, FEATURES], datatype: "FP32", data: row }] })
  const x = model.rows.subarray(0, FEATURES)
  const kept: xgboost.Forest[] = [] // the raw side keeps its forests, as meshkit keeps its models
  const rawCpu: number[] = []
  const rawMs = (file: string): number => {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const forest = xgboost.loadForest(readFileSync(file), file, "raw")
    xgboost.predict(forest, x, 1)
    const ms = performance.now() - t0
    const c = process.cpuUsage(c0)
    rawCpu.push((c.user + c.system) / 1000)
    kept.push(forest)
    return ms
  }
  const server = await startMeshkit({ models: dir, memory: "1GiB", dataDir: join(workDir, "trees-cold-data"), extra: ["--log-level", "warn"] })
  try {
    const meshkitCpu: number[] = []
    const meshkitMs = async (name: string): Promise<number> => {
      const c0 = cpuNs(server.child.pid)
      const r = await timedInfer(server.inferUrl(name), body)
      meshkitCpu.push((cpuNs(server.child.pid) - c0) / 1e6)
      if (r.status !== 200) throw new Error(`meshkit answered ${r.status} to the first request for ${name}: ${r.text.slice(0, 300)}`)
      return r.ms
    }
    const settle = () => new Promise((r) => setTimeout(r, 100))
    const out: MissPath[] = []
    for (const f of formats) {
      const file = (i: number) => join(dir, `cold_${f.format}_${i}${f.ext}`)
      const name = (i: number) => `cold_${f.format}_${i}`
      // warm-up: the raw side's JIT on its first file, meshkit's on a first model
      for (let i = 0; i < WARM_UPS; i++) {
        rawMs(file(i))
        await meshkitMs(name(i))
      }
      rawCpu.length = 0
      meshkitCpu.length = 0
      const raw: number[] = []
      const mesh: number[] = []
      const warm: number[] = []
      const meshCpu: number[] = []
      for (let i = WARM_UPS; i < count + WARM_UPS; i++) {
        const rawFirst = i % 2 === 0
        if (rawFirst) await settle().then(() => raw.push(rawMs(file(i))))
        await settle()
        mesh.push(await meshkitMs(name(i)))
        meshCpu.push(meshkitCpu.at(-1)!)
        warm.push(await meshkitMs(name(i)))
        if (!rawFirst) await settle().then(() => raw.push(rawMs(file(i))))
        progress(
          `cold ${f.format} ${i - WARM_UPS + 1}/${count}: raw ${raw.at(-1)!.toFixed(2)} ms (cpu ${rawCpu.at(-1)!.toFixed(2)}), meshkit ${mesh.at(-1)!.toFixed(2)} ms (cpu ${meshCpu.at(-1)!.toFixed(2)}), warm ${warm.at(-1)!.toFixed(2)} ms`
        )
      }
      out.push({ format: f.format, raw, meshkit: mesh, warmMs: warm, rawCpu: [...rawCpu], meshkitCpu: meshCpu })
    }
    return out
  } finally {
    await server.child.stop()
  }
}

/** CPU time (ns) every thread of process `pid` has run so far (Linux schedstat). */
const cpuNs = (pid: number): number => {
  let sum = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0])
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return sum
}
