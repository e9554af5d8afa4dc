#!/usr/bin/env node
// Launcher. Runs the bundled CLI (dist/, rebuilt here whenever a workspace source file is newer),
// falling back to running the TypeScript sources through tsx if the bundle cannot be built.
import { build, bundleIsFresh, distDir } from "./build.mjs"

let main
try {
  if (!bundleIsFresh()) await build()
  ;({ main } = await import(`${distDir}/meshkit.mjs`))
} catch (err) {
  if (process.env.MESHKIT_DEBUG) console.error("meshkit: bundle unavailable, running from sources:", err)
  const { register } = await import("tsx/esm/api")
  register()
  ;({ main } = await import("../packages/cli/src/main.ts"))
}
process.exitCode = await main(process.argv.slice(2))
