/**
 * `.ci/run` calls this before the tests: every package of `debian-packages.json` through the same
 * ensureDebianPackage the tests use, so CI installs exactly what the harness would (nothing more),
 * once, before vitest's workers start. Exit 1 with the one-line reason when one cannot be had.
 */
import { ensureDebianPackage, listedPackages } from "./system-deps.js"

let failed = false
for (const dep of listedPackages()) {
  try {
    ensureDebianPackage(dep)
  } catch (e) {
    failed = true
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  }
}
process.exit(failed ? 1 : 0)
