// The command line's contract, for every command: `--version` prints the root package.json's
// version (exit 0); a usage error (unknown command, bad flag, bad value, missing argument) exits 2
// with a short message and a one-line hint — never the whole help; a failure of the work exits 1.
// (A benchmark regression exiting 1 is covered by bench-compare.test.ts.)
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { commands } from "@meshkit/cli"

const root = join(import.meta.dirname, "..")
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["bin/meshkit.js", ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr })
    )
  })

/** ~40 process starts: about 0.4 s each on an idle 2-core machine, seen at 6 s under a load average of 30. */
const LOADED_MACHINE_MS = 300_000

/** At most `n` at once: the machine has two cores and other tests run beside this one. */
const limited = async <A, B>(items: ReadonlyArray<A>, n: number, fn: (a: A) => Promise<B>): Promise<B[]> => {
  const out: B[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!)
      }
    })
  )
  return out
}

// [argv, the hint's command, a fragment the message must name]
const usageErrors: ReadonlyArray<readonly [string[], string, RegExp]> = [
  [[], "meshkit", /missing command/],
  [["frob"], "meshkit", /unknown command "frob"/],
  [["start", "--bogus"], "meshkit start", /unknown flag --bogus/],
  [["start", "--workers", "x"], "meshkit start", /--workers/],
  [["sim"], "meshkit sim", /scenario file or --trace/],
  [["sim", "--bogus"], "meshkit sim", /unknown flag --bogus/],
  [["sim", "--trace", "t.csv"], "meshkit sim", /--capacity/],
  [["sim", "--trace", "t.csv", "--capacity", "1GiB", "--trace-format", "xml"], "meshkit sim", /--trace-format/],
  [["policies", "--bogus"], "meshkit policies", /unknown flag --bogus/],
  [["plan"], "meshkit plan", /give a scenario file/],
  [["plan", "--bogus"], "meshkit plan", /unknown flag --bogus/],
  [["plan", "scenarios/default.yaml"], "meshkit plan", /--slo-p99 is required/],
  [["serve", "--bogus"], "meshkit serve", /unknown flag --bogus/],
  [["serve", "--memory", "lots"], "meshkit serve", /memory \(from --memory\)/],
  [["serve", "--port", "x"], "meshkit serve", /port \(from --port\)/],
  [["serve", "--eviction", "nope"], "meshkit serve", /eviction/],
  [["cluster"], "meshkit cluster", /missing subcommand/],
  [["cluster", "frob"], "meshkit cluster", /unknown cluster command "frob"/],
  [["cluster", "up"], "meshkit cluster", /--models DIR is required/],
  [["cluster", "up", "--models", "m", "--instances", "0"], "meshkit cluster", /--instances/],
  [["cluster", "status", "--bogus"], "meshkit cluster", /unknown flag --bogus/],
  [["models"], "meshkit models", /missing subcommand/],
  [["models", "frob"], "meshkit models", /unknown subcommand/],
  [["models", "make"], "meshkit models", /--out DIR is required/],
  [["models", "make", "--out", "x", "--count", "zero"], "meshkit models", /--count/],
  [["bench", "--bogus"], "meshkit bench", /unknown flag --bogus/],
  [["bench", "--only", "nope"], "meshkit bench", /unknown part "nope"/],
  [["bench", "compare", "one.json"], "meshkit bench", /two files/],
  [["bench-core", "--bogus"], "meshkit bench-core", /--bogus/],
  [["bench-core", "--time", "0"], "meshkit bench-core", /--time/],
  [["fidelity", "--bogus"], "meshkit fidelity", /unknown flag --bogus/],
  [["fidelity", "a.yaml", "b.yaml"], "meshkit fidelity", /one scenario at most/],
  [["fidelity", "--instances", "0"], "meshkit fidelity", /--instances/],
  [["trace"], "meshkit trace", /give a subcommand: convert or stats/],
  [["trace", "convert", "in.csv"], "meshkit trace", /needs IN and OUT/],
  [["trace", "convert", "in.csv", "out.parquet"], "meshkit trace", /cannot tell the output format/],
  [["trace", "stats", "x.csv", "--from", "xml"], "meshkit trace", /--from must be csv, azure or oracleGeneral/]
]

describe("meshkit exit codes and --version", () => {
  it("prints the package version for meshkit --version and every meshkit <command> --version", async () => {
    const argvs = [["--version"], ...commands.map((c) => [c.name, "--version"])]
    const results = await limited(argvs, 3, run)
    results.forEach((r, i) => {
      expect(r.code, `${argvs[i]!.join(" ")}: ${r.stderr}`).toBe(0)
      expect(r.stdout.trim(), argvs[i]!.join(" ")).toBe(version)
    })
  }, LOADED_MACHINE_MS)

  it("every command's usage errors exit 2 with a short message and a one-line hint, not the help", async () => {
    // every command appears at least once
    for (const c of commands) expect(usageErrors.some(([a]) => a[0] === c.name), c.name).toBe(true)
    const results = await limited(usageErrors, 3, ([argv]) => run(argv))
    results.forEach((r, i) => {
      const [argv, hintFor, fragment] = usageErrors[i]!
      const what = `meshkit ${argv.join(" ")}\n${r.stderr}`
      expect(r.code, what).toBe(2)
      expect(r.stdout, what).toBe("")
      const lines = r.stderr.trimEnd().split("\n")
      expect(lines.length, what).toBeLessThanOrEqual(4)
      expect(lines.at(-1), what).toBe(`see ${hintFor} --help`)
      expect(r.stderr, what).toMatch(fragment)
      expect(r.stderr, what).not.toMatch(/^usage:/m)
    })
  }, LOADED_MACHINE_MS)

  it("--help prints the help and exits 0, listing the exit codes", async () => {
    const r = await run(["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("exit codes: 0 success; 1 the work failed")
    const s = await run(["serve", "--help"])
    expect(s.code).toBe(0)
    expect(s.stdout).toMatch(/^meshkit serve/)
  })

  it("a failure of the work exits 1 with its reason", async () => {
    const [serve, status, sim] = await Promise.all([
      run(["serve", "--models", "/nonexistent-meshkit-models", "--port", "0", "--grpc-port", "off", "--log-level", "none"]),
      run(["cluster", "status", "--url", "http://127.0.0.1:1"]),
      run(["sim", "--trace", "/nonexistent-meshkit-trace.csv", "--capacity", "1GiB"])
    ])
    expect(serve.code, serve.stderr).toBe(1)
    expect(serve.stderr).toContain("cannot read models directory /nonexistent-meshkit-models")
    expect(status.code, status.stderr).toBe(1)
    expect(status.stderr).toContain("cannot reach http://127.0.0.1:1")
    expect(sim.code, sim.stderr).toBe(1)
    expect(sim.stderr).toContain("cannot read the trace")
  }, LOADED_MACHINE_MS)
})
