/**
 * `meshkit`: one command-line program. Each subcommand lives in ./commands/<name>.ts, exports
 * `run(argv): Promise<number>` (the exit code) and is imported only when used, so `--help` and
 * small commands start fast.
 */
import { Predicate } from "effect"
import { UsageError } from "./args.js"
import { VERSION } from "./version.js"

export interface Command {
  readonly name: string
  readonly summary: string
  readonly load: () => Promise<{ run: (argv: string[]) => Promise<number> }>
}

export const commands: readonly Command[] = [
  { name: "start", summary: "the main job: run the default scenario and print the comparison", load: () => import("./commands/start.js") },
  { name: "sim", summary: "simulate a scenario or trace under each eviction policy: meshkit sim scenarios/x.yaml | --trace FILE --capacity 16GiB [--ideal] [--json]", load: () => import("./commands/sim.js") },
  { name: "plan", summary: "capacity planner: the cheapest instances × memory × policies meeting an SLO: plan scenarios/x.yaml --slo-p99 250ms [--json]", load: () => import("./commands/plan.js") },
  { name: "policies", summary: "list every policy with its family, description and options [--json]", load: () => import("./commands/policies.js") },
  { name: "serve", summary: "inference server: KServe v2 REST + gRPC, lazy loads under a memory budget (--models DIR --port P --memory SIZE)", load: () => import("./commands/serve.js") },
  { name: "cluster", summary: "try cluster mode on one machine: cluster up --instances N --models DIR --memory SIZE; cluster status [--url URL]", load: () => import("./commands/cluster.js") },
  { name: "trace", summary: "trace files: trace convert IN OUT (csv, azure, oracleGeneral[.zst]); trace stats FILE [--html R]", load: () => import("./commands/trace.js") },
  { name: "models", summary: "model files: models make --out DIR --count N --size 4MiB (synthetic ONNX MLPs, seeded)", load: () => import("./commands/models.js") },
  { name: "bench-core", summary: "eviction policy micro-benchmarks (requests/s, 10,000 resident models)", load: () => import("./commands/bench-core.js") },
  { name: "bench", summary: "all benchmarks (policy, simulator, server vs bare baseline) [--quick]; bench compare BASE NEW", load: () => import("./commands/bench.js") },
  { name: "fidelity", summary: "replay a scenario on the real server and in the calibrated simulator; compare [--json]", load: () => import("./commands/fidelity.js") }
]

const usage = (): string =>
  [
    `meshkit ${VERSION} — multi-model serving kit: policy core, inference server, simulator`,
    "",
    "usage: meshkit <command> [options]    (meshkit <command> --help for its options)",
    "       meshkit --version              (also meshkit <command> --version)",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    "",
    "exit codes: 0 success; 1 the work failed (including a benchmark regression);",
    "            2 a usage error (unknown command, bad flag or value, input that does not validate)"
  ].join("\n")

/** A usage error: the message and a one-line hint, never the whole help (exit 2). */
const usageError = (where: string, message: string, hint: string): number => {
  console.error(`${where}: ${message}\nsee ${hint}`)
  return 2
}

/** `--version` anywhere in a command's own flags (not after `--`, which passes flags on). */
const asksVersion = (argv: ReadonlyArray<string>): boolean => {
  const dash = argv.indexOf("--")
  return (dash < 0 ? argv : argv.slice(0, dash)).includes("--version")
}

export const main = async (argv: string[]): Promise<number> => {
  const [name, ...rest] = argv
  if (name === "--help" || name === "-h" || name === "help") {
    console.log(usage())
    return 0
  }
  if (name === "--version" || name === "-V") {
    console.log(VERSION)
    return 0
  }
  if (name === undefined) return usageError("meshkit", "missing command", "meshkit --help")
  const cmd = commands.find((c) => c.name === name)
  if (!cmd) return usageError("meshkit", `unknown command "${name}"`, "meshkit --help")
  if (asksVersion(rest)) {
    console.log(VERSION)
    return 0
  }
  try {
    return await (await cmd.load()).run(rest)
  } catch (err) {
    // A mistake in how the command was called: its message and a hint, exit 2. A user-facing error
    // (a failure while doing the work: tagged errors) prints its message, anything else its stack; both exit 1.
    if (err instanceof UsageError) return usageError(`meshkit ${name}`, err.message, `meshkit ${name} --help`)
    console.error(`meshkit ${name}: ${Predicate.hasProperty(err, "_tag") && err instanceof Error ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    return 1
  }
}
