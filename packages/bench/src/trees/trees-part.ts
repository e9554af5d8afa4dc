import { mkdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { xgboost } from "@meshkit/server"
import { fmt } from "../compare/compare.js"
import { figureOf, median, type Figure } from "../report/figures.js"
import type { Part } from "../report/parts.js"
import { measureMissPath, type MissPath } from "./miss-path.js"
import { forestToOnnx } from "./onnx-tree-ensemble.js"
import { trainBenchModel, xgboostRates } from "./reference.js"
import { meshkitPredict, ortPredict, rowsPerSecond, worstRelativeError } from "./throughput.js"

/**
 * Tree models: meshkit's XGBoost evaluator against XGBoost's own prediction (Debian's
 * python3-xgboost 1.7, inplace_predict and DMatrix + predict, one thread and its default threads)
 * and onnxruntime running the same forest as an ONNX TreeEnsembleRegressor, on a 100-tree depth-6
 * binary:logistic model with 32 features, batch sizes 1, 64 and 1024, in rounds (XGBoost,
 * meshkit, onnxruntime in each), so each round's ratio compares rates measured under the same
 * load. Then the miss path of a cold XGBoost model (./miss-path.ts).
 */
const BATCHES = [1, 64, 1024] as const
const GROUP = "trees"

export const treesPart: Part = async (ctx) => {
  const rounds = ctx.quick ? 1 : 3
  const seconds = ctx.quick ? 0.25 : 0.6
  const dir = join(ctx.workDir, "trees")
  mkdirSync(dir, { recursive: true })
  ctx.progress("training the bench model with XGBoost (100 trees, depth 6, 32 features, binary:logistic)")
  const model = await trainBenchModel(dir)
  const forest = xgboost.loadForest(readFileSync(model.ubj), model.ubj, "bench")
  const rows = model.rows.length / 32
  // every predictor must give XGBoost's answers before it is timed
  const ours = xgboost.predict(forest, model.rows, rows)
  const oursErr = worstRelativeError(ours, model.expected)
  if (oursErr > 1e-6) throw new Error(`meshkit's predictions differ from Booster.predict (worst relative error ${oursErr})`)
  const ort = await import("onnxruntime-node")
  const onnx = forestToOnnx({ ...forest, objective: { ...forest.objective, transform: "identity" } }, "input__0", "output__0")
  const ort1 = await ortPredict(ort, onnx, 1)
  const ortN = await ortPredict(ort, onnx, undefined)
  const notes: string[] = []
  try {
    const ortErr = worstRelativeError(await ort1.run(model.rows, rows), model.expected)
    if (ortErr > 1e-5) throw new Error(`onnxruntime's TreeEnsemble answers differ from Booster.predict (worst relative error ${ortErr})`)

    const samples: Record<string, number[]> = {}
    const add = (k: string, v: number) => (samples[k] ??= []).push(v)
    let version = ""
    for (let r = 0; r < rounds; r++) {
      const ref = await xgboostRates(dir, seconds, BATCHES)
      version = ref.version
      for (const b of BATCHES) {
        for (const [k, v] of Object.entries(ref.rowsPerSecond)) if (k.endsWith(`/${b}`)) add(`xgb/${k}`, v)
        add(`meshkit/${b}`, await rowsPerSecond(meshkitPredict(forest), model.rows, b, seconds))
        add(`ort1/${b}`, await rowsPerSecond(ort1.run, model.rows, b, seconds))
        add(`ortN/${b}`, await rowsPerSecond(ortN.run, model.rows, b, seconds))
        add(`ratio/${b}`, samples[`meshkit/${b}`]!.at(-1)! / ref.rowsPerSecond[`inplace/1/${b}`]!)
        add(`ratioOrt/${b}`, samples[`meshkit/${b}`]!.at(-1)! / samples[`ort1/${b}`]!.at(-1)!)
      }
      ctx.progress(`round ${r + 1}/${rounds}: ` + BATCHES.map((b) => `batch ${b}: meshkit ${fmt(samples[`meshkit/${b}`]!.at(-1)!)} rows/s, xgboost 1 thread ${fmt(samples[`xgb/inplace/1/${b}`]!.at(-1)!)}`).join("; "))
    }
    const missCount = ctx.quick ? 6 : 12
    const miss = await measureMissPath(model, ctx.workDir, missCount, ctx.progress)
    const sizes = { ubj: statSync(model.ubj).size, json: statSync(model.json).size, forest: xgboost.forestBytes(forest) + xgboost.MODEL_OVERHEAD_BYTES }
    notes.push(`trees: XGBoost ${version}; forest ${forest.numTrees} trees, ${forest.child.length} nodes, resident ${sizes.forest} B (UBJSON file ${sizes.ubj} B, JSON file ${sizes.json} B)`)
    return { figures: figures(samples, miss, sizes), notes, sections: [section(samples, miss, sizes, version, forest)] }
  } finally {
    await ort1.release()
    await ortN.release()
  }
}

const ms = (xs: ReadonlyArray<number>) => fmt(median(xs))

const figures = (s: Record<string, number[]>, miss: ReadonlyArray<MissPath>, sizes: { ubj: number; json: number; forest: number }): Figure[] => {
  const out: Array<Figure | undefined> = []
  for (const b of BATCHES) {
    const rate = (name: string, key: string, description: string) =>
      out.push(figureOf({ name: `${name}B${b}`, group: GROUP, unit: "rows/s", better: "higher", threshold: null, description: `${description}, batch ${b}` }, s[key] ?? []))
    rate("treesMeshkitRowsPerSec", `meshkit/${b}`, "meshkit's XGBoost evaluator")
    rate("treesXgboost1tRowsPerSec", `xgb/inplace/1/${b}`, "XGBoost inplace_predict, nthread=1")
    rate("treesXgboostDefaultRowsPerSec", `xgb/inplace/default/${b}`, "XGBoost inplace_predict, default threads")
    rate("treesOrt1tRowsPerSec", `ort1/${b}`, "onnxruntime TreeEnsembleRegressor, 1 intra-op thread")
    out.push(
      figureOf(
        { name: `treesMeshkitVsXgboostB${b}`, group: GROUP, unit: "×", better: "higher", threshold: null, description: `meshkit rows/s ÷ XGBoost inplace_predict (1 thread) rows/s, same round, batch ${b}` },
        s[`ratio/${b}`] ?? []
      ),
      figureOf({ name: `treesMeshkitVsOrtB${b}`, group: GROUP, unit: "×", better: "higher", threshold: null, description: `meshkit rows/s ÷ onnxruntime (1 thread) rows/s, same round, batch ${b}` }, s[`ratioOrt/${b}`] ?? [])
    )
  }
  for (const m of miss) {
    out.push(
      figureOf(
        {
          name: `treesColdOverheadMs${m.format === "ubj" ? "Ubj" : "Json"}`,
          group: GROUP,
          unit: "ms",
          better: "lower",
          threshold: null,
          thresholdKind: "absolute",
          target: { op: "<=", value: 2, source: "server issue" },
          description: `meshkit first request (HTTP included) − (read + parse + flatten + first predict) on the ${m.format === "ubj" ? "UBJSON" : "JSON"} file, per model`
        },
        m.raw.map((r, i) => m.meshkit[i]! - r)
      ),
      figureOf({ name: `treesColdRawMs${m.format === "ubj" ? "Ubj" : "Json"}`, group: GROUP, unit: "ms", better: "lower", threshold: null }, m.raw),
      figureOf(
        {
          name: `treesColdCpuOverheadMs${m.format === "ubj" ? "Ubj" : "Json"}`,
          group: GROUP,
          unit: "ms",
          better: "lower",
          threshold: null,
          thresholdKind: "absolute",
          target: { op: "<=", value: 2, source: "server issue (in CPU time)" },
          description: `server CPU time on the first request (HTTP included) − bench CPU time on read + parse + flatten + first predict, ${m.format === "ubj" ? "UBJSON" : "JSON"}, per model`
        },
        m.rawCpu.map((r, i) => m.meshkitCpu[i]! - r)
      )
    )
  }
  out.push(figureOf({ name: "treesResidentPerUbjByte", group: GROUP, unit: "×", better: "lower", threshold: null, description: "resident size ÷ UBJSON file size" }, [sizes.forest / sizes.ubj]))
  return out.filter((f): f is Figure => f !== undefined)
}

const section = (s: Record<string, number[]>, miss: ReadonlyArray<MissPath>, sizes: { ubj: number; json: number; forest: number }, version: string, f: xgboost.Forest): Section => ({
  heading: "Tree models (XGBoost)",
  text:
    `Rows per second (medians over rounds) on a ${f.numTrees}-tree depth-6 binary:logistic model with ${f.numFeature} features (5% missing values), XGBoost ${version} trained it. ` +
    "meshkit's evaluator, XGBoost's own prediction (python, /usr/bin/python3) and onnxruntime-node on the same forest as an ONNX TreeEnsembleRegressor, all giving Booster.predict's answers, same rows, same run. " +
    `Resident: ${sizes.forest} B for the flattened forest (UBJSON file ${sizes.ubj} B, JSON file ${sizes.json} B). ` +
    "Miss path: first request for a cold model vs read + parse + flatten + first predict in the bench process.",
  table: {
    columns: ["batch", "meshkit", "xgboost inplace 1 thr", "xgboost DMatrix 1 thr", "xgboost inplace default thr", "onnxruntime 1 thr", "onnxruntime default thr", "meshkit ÷ xgboost 1 thr", "meshkit ÷ ort 1 thr"],
    rows: [
      ...BATCHES.map((b) => [
        b,
        ms(s[`meshkit/${b}`]!),
        ms(s[`xgb/inplace/1/${b}`]!),
        ms(s[`xgb/dmatrix/1/${b}`]!),
        ms(s[`xgb/inplace/default/${b}`]!),
        ms(s[`ort1/${b}`]!),
        ms(s[`ortN/${b}`]!),
        ms(s[`ratio/${b}`]!),
        ms(s[`ratioOrt/${b}`]!)
      ]),
      ...miss.map((m) => [
        `cold ${m.format}: raw ${ms(m.raw)} ms (cpu ${ms(m.rawCpu)})`,
        `meshkit ${ms(m.meshkit)} ms (cpu ${ms(m.meshkitCpu)})`,
        `warm request ${ms(m.warmMs)} ms`,
        `overhead ${ms(m.raw.map((r, i) => m.meshkit[i]! - r))} ms`,
        `cpu overhead ${ms(m.rawCpu.map((r, i) => m.meshkitCpu[i]! - r))} ms`,
        "",
        "",
        "",
        ""
      ])
    ]
  }
})
