import { readFileSync } from "node:fs"
import { isReplayReport, type ReplayReport } from "./replay-report.js"
import { reportReplay } from "./replay-compare.js"

/**
 * `meshkit bench compare` on replay reports: one file with both sides (a replay run with
 * --against), or two one-sided files (BASE's side against NEW's, NEW's thresholds). Exit codes
 * as for bench reports: 0 passed, 1 regression, 2 bad input.
 */
const readJson = (file: string): unknown => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    throw new ReplayFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ReplayFileError(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
}

export class ReplayFileError extends Error {}

/** True when `file` parses as a replay report (so `bench compare` takes the replay path). */
export const isReplayFile = (file: string): boolean => {
  try {
    return isReplayReport(JSON.parse(readFileSync(file, "utf8")))
  } catch {
    return false
  }
}

export const replayCompareFiles = async (files: ReadonlyArray<string>, out: { stdout: (s: string) => void; stderr: (s: string) => void; env?: NodeJS.ProcessEnv }): Promise<number> => {
  try {
    const reports = files.map((f) => {
      const v = readJson(f)
      if (!isReplayReport(v)) throw new ReplayFileError(`${f}: not a replay report (written by meshkit bench replay --out FILE)`)
      return v
    })
    let report: ReplayReport
    if (reports.length === 1) {
      report = reports[0]!
      if (report.base === undefined) throw new ReplayFileError(`${files[0]}: has one side only (replay it with --against, or compare two files: BASE.json NEW.json)`)
    } else {
      const [base, next] = reports as [ReplayReport, ReplayReport]
      report = { ...next, base: base.new }
    }
    return await reportReplay(report, files[files.length - 1]!, out)
  } catch (e) {
    if (!(e instanceof ReplayFileError)) throw e
    out.stderr(`meshkit bench compare: ${e.message}\n`)
    return 2
  }
}
