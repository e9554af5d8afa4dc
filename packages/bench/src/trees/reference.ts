import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/**
 * XGBoost itself, the reference the trees part measures against: Debian's python3-xgboost run by
 * /usr/bin/python3 (the python3 first on PATH cannot import Debian's packages) with
 * ./xgboost-bench.py, which trains the bench model and times XGBoost's own prediction.
 */
export const DEBIAN_PYTHON = "/usr/bin/python3"
const SCRIPT = fileURLToPath(new URL("./xgboost-bench.py", import.meta.url))
export const FEATURES = 32
export const ROWS = 4096

const python = (args: ReadonlyArray<string>, timeoutMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    if (!existsSync(DEBIAN_PYTHON)) return reject(new Error(`${DEBIAN_PYTHON} not found: the trees bench needs Debian's python3-xgboost (apt-get install -y python3-xgboost)`))
    execFile(DEBIAN_PYTHON, [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout)
      const why = /No module named 'xgboost'/.test(stderr) ? "XGBoost is not installed for /usr/bin/python3: apt-get install -y python3-xgboost" : stderr.trim().split("\n").slice(-3).join(" | ")
      reject(new Error(`xgboost-bench.py ${args[0]}: ${why || err.message}`))
    })
  })

export interface BenchModel {
  readonly ubj: string
  readonly json: string
  /** ROWS × FEATURES, NaN = missing */
  readonly rows: Float32Array
  /** Booster.predict on rows */
  readonly expected: Float32Array
}

const f32 = (path: string): Float32Array => {
  const b = readFileSync(path)
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

/** Train the 100-tree depth-6 binary:logistic model on 32 features into `dir`. */
export const trainBenchModel = async (dir: string): Promise<BenchModel> => {
  await python(["train", dir], 600_000)
  return { ubj: `${dir}/model.ubj`, json: `${dir}/model.xgb.json`, rows: f32(`${dir}/rows.f32`), expected: f32(`${dir}/pred.f32`) }
}

export interface XgboostRates {
  readonly version: string
  /** rows per second by `${api}/${threads}/${batch}`: api inplace | dmatrix, threads 1 | default */
  readonly rowsPerSecond: Readonly<Record<string, number>>
}

/** XGBoost's prediction rate at each batch size, about `seconds` per point (one python process). */
export const xgboostRates = async (dir: string, seconds: number, batches: ReadonlyArray<number>): Promise<XgboostRates> => {
  const out = JSON.parse(await python(["time", dir, String(seconds), batches.join(",")], 600_000)) as { xgboost: string; rowsPerSecond: Record<string, number> }
  return { version: out.xgboost, rowsPerSecond: out.rowsPerSecond }
}
