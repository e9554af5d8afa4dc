/**
 * Test support: small XGBoost models trained by real XGBoost (Debian's python3-xgboost 1.7,
 * run by /usr/bin/python3) with ./xgboost-train.py, one per objective, saved as JSON
 * (`<case>.xgb.json`) and UBJSON (`<case>.ubj`), with `Booster.predict`'s answers on test rows
 * that have missing values. Trained once into a temp dir named after the script's hash, so the
 * test files of one run (and later runs of the same script) share them.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DEBIAN_PYTHON, ensureDebianPackage } from "./system-deps.js"

export interface XgbCase {
  readonly name: string
  readonly objective: string
  readonly booster: string
  readonly numFeature: number
  readonly numTrees: number
  /** test rows; null is a missing value */
  readonly rows: ReadonlyArray<ReadonlyArray<number | null>>
  /** Booster.predict's shape and values (row-major) */
  readonly shape: ReadonlyArray<number>
  readonly expected: ReadonlyArray<number>
}

export interface XgbModels {
  readonly dir: string
  readonly xgboostVersion: string
  readonly cases: ReadonlyArray<XgbCase>
}

const SCRIPT = join(import.meta.dirname, "xgboost-train.py")

export const trainedXgboostModels = (): XgbModels => {
  ensureDebianPackage({ pythonModule: "xgboost", package: ["python3-xgboost"], why: "the XGBoost runtime tests compare meshkit with real XGBoost" })
  const hash = createHash("sha256").update(readFileSync(SCRIPT)).digest("hex").slice(0, 12)
  const dir = join(tmpdir(), `meshkit-xgboost-models-${hash}`)
  if (!existsSync(join(dir, "manifest.json"))) {
    // train beside it, then rename: a concurrent test file either wins the rename or uses the winner's
    const scratch = mkdtempSync(join(tmpdir(), "meshkit-xgboost-train-"))
    try {
      execFileSync(DEBIAN_PYTHON, [SCRIPT, scratch], { stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 })
      renameSync(scratch, dir)
    } catch (e) {
      rmSync(scratch, { recursive: true, force: true })
      if (!existsSync(join(dir, "manifest.json"))) throw e
    }
  }
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { xgboost: string; cases: XgbCase[] }
  return { dir, xgboostVersion: m.xgboost, cases: m.cases }
}

/** A case's rows as the FP32 tensor data the server takes (null → NaN). */
export const rowsData = (c: XgbCase): Float32Array => Float32Array.from(c.rows.flat(), (v) => (v === null ? NaN : v))

/** Within 1e-6 relative, or 1e-6 absolute near 0; returns the first mismatch's description. */
export const mismatch = (got: ArrayLike<number>, want: ReadonlyArray<number>): string | undefined => {
  if (got.length !== want.length) return `${got.length} values, expected ${want.length}`
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!
    const w = want[i]!
    if (!(Math.abs(g - w) <= Math.max(1e-6, 1e-6 * Math.abs(w)))) return `value ${i}: ${g}, XGBoost says ${w}`
  }
  return undefined
}
