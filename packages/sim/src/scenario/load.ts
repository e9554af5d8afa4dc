import { readFile } from "node:fs/promises"
import { basename, dirname, extname, isAbsolute, resolve } from "node:path"
import { formatBytes, policiesOf, resolvePolicy, type Family, type PolicyChoice } from "@meshkit/core"
import { Data, Either, ParseResult, Schema } from "effect"
import { parse as parseYaml, YAMLParseError } from "yaml"
import type { ClusterConfig, ExecTimeConfig, TenantShareConfig } from "../engine/config.js"
import type { TraceSource } from "../trace/index.js"
import { Scenario, type Cluster, type ExecTime } from "./schema.js"

/** A scenario that cannot be used, with a message naming the file and the bad field. */
export class ScenarioError extends Data.TaggedError("ScenarioError")<{ readonly message: string }> {}

/** Fields that hold file paths: relative values are resolved against the scenario's folder. */
const PATH_FIELDS: ReadonlyArray<readonly string[]> = [
  ["trace", "csv", "path"],
  ["trace", "azure", "dir"],
  ["trace", "azure", "invocations"],
  ["trace", "azure", "memory"],
  ["trace", "azure", "durations"],
  ["trace", "oracleGeneral", "path"]
]

export interface LoadedScenario {
  readonly file: string
  /** the scenario's name: its `name:` or the file name without extension */
  readonly name: string
  readonly scenario: Scenario
  readonly source: TraceSource
  /** eviction policies to compare, validated, in order */
  readonly evictions: ReadonlyArray<PolicyChoice | string>
  readonly cluster: ClusterConfig
}

export interface LoadOptions {
  /** `--set a.b.c=value` overrides (value parsed as YAML; file paths relative to the cwd) */
  readonly sets?: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly cwd?: string
}

export const loadScenario = async (file: string, opts: LoadOptions = {}): Promise<LoadedScenario> => {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (e) {
    throw new ScenarioError({ message: `cannot read scenario ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` })
  }
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? `:${e.linePos[0].line}:${e.linePos[0].col}` : ""
    throw new ScenarioError({ message: `${file}${where}: not valid YAML: ${(e as Error).message.split("\n")[0]}` })
  }
  return scenarioFrom(raw, file, opts)
}

/** Validate an already-parsed scenario document (from `file`, for messages and relative paths). */
export const scenarioFrom = (raw: unknown, file: string, opts: LoadOptions = {}): LoadedScenario => {
  const fail = (message: string): never => {
    throw new ScenarioError({ message: `${file}: ${message}` })
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("a scenario is a YAML mapping (trace:, cluster:, policies: ...)")
  const doc = structuredClone(raw) as Record<string, unknown>
  const cwd = opts.cwd ?? process.cwd()
  const base = dirname(resolve(cwd, file))
  const env = opts.env ?? process.env

  for (const p of PATH_FIELDS) {
    const v = getPath(doc, p)
    if (typeof v === "string" && !v.includes("${") && !isAbsolute(v)) setPath(doc, p, resolve(base, v))
  }
  for (const s of opts.sets ?? []) {
    const eq = s.indexOf("=")
    if (eq <= 0) fail(`--set ${s}: expected key.path=value`)
    const key = s.slice(0, eq).split(".")
    if (key.some((k) => k === "")) fail(`--set ${s}: empty key in "${s.slice(0, eq)}"`)
    let value: unknown = s.slice(eq + 1)
    try {
      value = parseYaml(value as string)
    } catch {
      // not YAML: keep the text as it is
    }
    if (isPathField(key) && typeof value === "string" && !isAbsolute(value)) value = resolve(cwd, value)
    setPath(doc, key, value)
  }
  interpolateEnv(doc, [], env, cwd, fail)

  const decoded = Schema.decodeUnknownEither(Scenario, { onExcessProperty: "error", errors: "all" })(doc)
  if (Either.isLeft(decoded)) fail(formatIssues(decoded.left, doc))
  const scenario = (decoded as Either.Right<never, Scenario>).right

  const evictions = evictionChoices(scenario.policies.eviction, fail)
  for (const family of ["placement", "routing", "scaling"] as const) {
    const choice = scenario.policies[family]
    if (family === "scaling" && (typeof choice === "string" ? choice : choice.name) === "none") continue
    checkChoice(family, choice, `policies.${family}`, fail)
  }
  checkShares(scenario, fail)
  if (scenario.cluster.batching !== undefined) checkChoice("batching", scenario.cluster.batching.policy, "cluster.batching.policy", fail)
  const t = scenario.trace
  const source: TraceSource =
    t.csv ? { csv: t.csv }
    : t.azure ? { azure: t.azure }
    : t.mix ? { mix: t.mix }
    : t.oracleGeneral ? { oracleGeneral: t.oracleGeneral }
    : { generate: t.generate! }
  return {
    file,
    name: scenario.name ?? basename(file, extname(file)),
    scenario,
    source,
    evictions,
    cluster: clusterConfig(scenario.cluster)
  }
}

/** Shares must fit each instance's memory, at the scenario's size and at every sweep size. */
const checkShares = (s: Scenario, fail: (m: string) => never): void => {
  if (s.tenants.length === 0) return
  const sizes = [s.cluster.memory, ...(s.sweep?.memory ?? [])]
  for (const memory of sizes) {
    let sum = 0
    for (const t of s.tenants) sum += "bytes" in t.memory ? t.memory.bytes : Math.floor(t.memory.fraction * memory)
    if (sum > memory) {
      const where = memory === s.cluster.memory ? "cluster.memory" : "a sweep.memory size"
      fail(`tenants: memory shares add up to ${formatBytes(sum)}, more than ${where} (${formatBytes(memory)} per instance)`)
    }
  }
}

/** The engine's form of the scenario's tenant shares. */
export const sharesConfig = (s: Scenario): ReadonlyArray<TenantShareConfig> =>
  s.tenants.map((t) => ("bytes" in t.memory ? { id: t.id, bytes: t.memory.bytes } : { id: t.id, fraction: t.memory.fraction }))

const evictionChoices = (
  e: Scenario["policies"]["eviction"],
  fail: (m: string) => never
): ReadonlyArray<PolicyChoice | string> => {
  if (e === "online") return policiesOf("eviction").filter((d) => !d.offline).map((d) => d.name)
  if (e === "all") return policiesOf("eviction").map((d) => d.name)
  e.forEach((c, i) => checkChoice("eviction", c, `policies.eviction[${i}]`, fail))
  return e
}

const checkChoice = (family: Family, choice: PolicyChoice | string, field: string, fail: (m: string) => never): void => {
  const r = resolvePolicy(family, choice)
  if (Either.isLeft(r)) fail(`${field}: ${r.left.message}`)
}

export const execTimeConfig = (e: ExecTime): ExecTimeConfig =>
  "constantMs" in e
    ? { kind: "constant", ms: e.constantMs }
    : "lognormal" in e
      ? { kind: "lognormal", medianMs: e.lognormal.medianMs, sigma: e.lognormal.sigma }
      : { kind: "exponential", meanMs: e.exponential.meanMs }

export const clusterConfig = (c: Cluster): ClusterConfig => ({
  instances: c.instances,
  memoryBytes: c.memory,
  maxConcurrentLoads: c.maxConcurrentLoads,
  loadFixedMs: c.load.fixedMs,
  loadBytesPerSecond: c.load.bandwidth,
  unloadMs: c.unloadMs,
  exec: execTimeConfig(c.exec),
  modelConcurrency: c.modelConcurrency,
  maxCopies: c.maxCopies,
  runtimeThreads: c.runtimeThreads,
  requestOverheadMs: c.requestOverheadMs,
  unloadHoldMs: c.unloadHoldMs,
  loadSigma: c.load.sigma,
  ...(c.batching !== undefined ? { batching: { policy: c.batching.policy, rowCost: c.batching.rowCost } } : {})
})

// ---- helpers ---------------------------------------------------------------------------

const isPathField = (key: readonly string[]): boolean => PATH_FIELDS.some((p) => p.length === key.length && p.every((k, i) => k === key[i]))

const getPath = (doc: unknown, path: readonly string[]): unknown => {
  let v: unknown = doc
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return v
}

const setPath = (doc: Record<string, unknown>, path: readonly string[], value: unknown): void => {
  let o = doc
  for (const k of path.slice(0, -1)) {
    const next = o[k]
    if (next === null || typeof next !== "object" || Array.isArray(next)) o[k] = {}
    o = o[k] as Record<string, unknown>
  }
  o[path[path.length - 1]!] = value
}

/** `${NAME}` in any string is replaced from the environment; an unset variable names its field. */
const interpolateEnv = (
  node: unknown,
  path: string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  fail: (m: string) => never
): unknown => {
  if (typeof node === "string") return node
  if (node === null || typeof node !== "object") return node
  const entries: Array<[string | number, unknown]> = Array.isArray(node)
    ? node.map((v, i) => [i, v])
    : Object.entries(node as Record<string, unknown>)
  for (const [k, v] of entries) {
    const here = [...path, String(k)]
    if (typeof v === "string" && v.includes("${")) {
      let out = v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
        const val = env[name]
        if (val === undefined || val === "") {
          return fail(
            `${here.join(".")}: environment variable ${name} is not set ` +
              `(set it, or pass --set ${here.join(".")}=VALUE)`
          )
        }
        return val
      })
      if (isPathField(here) && !isAbsolute(out)) out = resolve(cwd, out)
      ;(node as Record<string | number, unknown>)[k] = out
    } else interpolateEnv(v, here, env, cwd, fail)
  }
  return node
}

/** One line per bad field: `cluster.memory: invalid byte size "lots" (...)`. */
const formatIssues = (error: ParseResult.ParseError, doc: Record<string, unknown>): string => {
  const byPath = new Map<string, string[]>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "")
    let message = issue.message
    if (message.startsWith("is missing")) message = "is required"
    if (key === "trace.azure" && getPath(doc, ["trace", "azure", "dir"]) === undefined) {
      message += " (pass the Azure trace folder with --set trace.azure.dir=PATH, or set it in the scenario)"
    }
    const list = byPath.get(key) ?? []
    if (!list.includes(message)) list.push(message)
    byPath.set(key, list)
  }
  return [...byPath]
    .map(([path, messages]) => {
      const parts = messages.map((m) => /^Expected (.*), actual (.*)$/s.exec(m))
      let text = messages.join("; ")
      if (messages.length > 1 && parts.every((p) => p !== null)) {
        text = `Expected ${[...new Set(parts.map((p) => p![1]))].join(" | ")}, actual ${parts[0]![2]}`
      }
      return `${path === "" ? "(top level)" : path}: ${text}`
    })
    .join("\n  ")
}
