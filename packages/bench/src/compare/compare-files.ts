import { readFileSync } from "node:fs"
import { BenchFileError, decodeBenchReport } from "../report/figures.js"
import { compareMarkdown, compareReports } from "./compare.js"

/**
 * `meshkit bench compare BASE NEW` as one call. Exit codes are the contract CI relies on:
 * 0 every gated figure within its threshold, 1 a regression (or a gated figure missing or with a
 * changed unit), 2 bad input (an unreadable or malformed file). The table goes to stdout, an input
 * error to stderr as one message naming the file.
 */
export const COMPARE_PASSED = 0
export const COMPARE_REGRESSED = 1
export const COMPARE_BAD_INPUT = 2

export const benchCompare = (baseFile: string, nextFile: string, out: { stdout: (s: string) => void; stderr: (s: string) => void }): number => {
  try {
    const base = decodeBenchReport(readText(baseFile), baseFile)
    const next = decodeBenchReport(readText(nextFile), nextFile)
    const c = compareReports(base, next)
    out.stdout(compareMarkdown(base, next, c, { base: baseFile, next: nextFile }))
    return c.failures.length === 0 ? COMPARE_PASSED : COMPARE_REGRESSED
  } catch (e) {
    if (!(e instanceof BenchFileError)) throw e
    out.stderr(`meshkit bench compare: ${e.message}\n`)
    return COMPARE_BAD_INPUT
  }
}

const readText = (file: string): string => {
  try {
    return readFileSync(file, "utf8")
  } catch (e) {
    throw new BenchFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
}
