import type { PolicySet } from "./space.js"

const GiB = 1024 ** 3
const MiB = 1024 ** 2

/** A memory size as `--set cluster.memory=` reads it back exactly: 8GiB, 5376MiB, or bytes. */
export const memoryText = (bytes: number): string =>
  bytes % GiB === 0 ? `${bytes / GiB}GiB` : bytes % MiB === 0 ? `${bytes / MiB}MiB` : String(bytes)

/** The scenario's own `policies` fields for one policy set: eviction as a one-element list. */
export const scenarioPolicies = (p: PolicySet) => ({
  eviction: [p.eviction],
  placement: p.placement,
  routing: p.routing,
  scaling: p.scaling
})

/** A YAML value for --set: a plain name as is, anything else as JSON (which YAML reads). */
const yamlValue = (v: unknown): string => (typeof v === "string" && /^[A-Za-z0-9._-]+$/.test(v) ? v : JSON.stringify(v))

export interface Reproduce {
  readonly scenarioFile: string
  /** the planner's own --set flags (trace paths ...), passed on first */
  readonly sets: ReadonlyArray<string>
  readonly instances: number
  readonly memoryBytes: number
  readonly policies: PolicySet
  readonly sloMs: number
  /** the scenario's mode; the planner always simulates full mode */
  readonly scenarioMode: "full" | "ideal"
}

/** `meshkit sim` arguments that replay exactly the configuration the planner simulated. */
export const reproduceArgs = (r: Reproduce): string[] => {
  const p = scenarioPolicies(r.policies)
  const sets = [
    ...r.sets,
    ...(r.scenarioMode === "full" ? [] : ["mode=full"]),
    `cluster.instances=${r.instances}`,
    `cluster.memory=${memoryText(r.memoryBytes)}`,
    `policies.eviction=[${yamlValue(p.eviction[0])}]`,
    `policies.placement=${yamlValue(p.placement)}`,
    `policies.routing=${yamlValue(p.routing)}`,
    `policies.scaling=${yamlValue(p.scaling)}`,
    `slo.latencyMs=${r.sloMs}`
  ]
  return ["sim", r.scenarioFile, ...sets.flatMap((s) => ["--set", s]), "--no-sweep"]
}

/** POSIX shell quoting: bare when safe, else single quotes. */
export const shellQuote = (a: string): string => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)

export const commandLine = (args: readonly string[]): string => ["meshkit", ...args].map(shellQuote).join(" ")
