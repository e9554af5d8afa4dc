#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx's loader (no build step, quick start).
import { register } from "tsx/esm/api"

register()
const { main } = await import("../packages/cli/src/main.ts")
process.exitCode = await main(process.argv.slice(2))
