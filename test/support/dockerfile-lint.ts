/**
 * A small Dockerfile rule check (hadolint-like, for the rules this project cares about), since
 * there is no Docker engine or hadolint binary on these machines. It parses instructions (with
 * line continuations and ARG defaults) and returns one message per broken rule.
 */

export interface Instruction {
  readonly line: number
  readonly keyword: string
  readonly args: string
  /** index of the stage (FROM) it belongs to */
  readonly stage: number
}

export interface Stage {
  readonly index: number
  readonly image: string
  readonly name: string | undefined
  readonly instructions: ReadonlyArray<Instruction>
}

export const parseDockerfile = (text: string): { instructions: Instruction[]; stages: Stage[]; globalArgs: Record<string, string> } => {
  const instructions: Instruction[] = []
  const lines = text.split("\n")
  let stage = -1
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1
    let l = lines[i]!
    if (/^\s*(#|$)/.test(l)) continue
    while (l.trimEnd().endsWith("\\") && i + 1 < lines.length) {
      l = l.trimEnd().slice(0, -1) + " "
      i++
      if (!/^\s*#/.test(lines[i]!)) l += lines[i]!.trim()
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l)
    if (!m) continue
    const keyword = m[1]!.toUpperCase()
    if (keyword === "FROM") stage++
    instructions.push({ line: first, keyword, args: m[2]!.trim(), stage })
  }
  const globalArgs: Record<string, string> = {}
  for (const ins of instructions.filter((x) => x.stage === -1 && x.keyword === "ARG")) {
    const [k, v] = ins.args.split("=")
    if (k && v !== undefined) globalArgs[k.trim()] = v.trim()
  }
  const stages: Stage[] = instructions
    .filter((x) => x.keyword === "FROM")
    .map((f) => {
      const [ref, as, name] = f.args.split(/\s+/)
      const image = ref!.replace(/\$\{?(\w+)\}?/g, (_, k: string) => globalArgs[k] ?? `\${${k}}`)
      return { index: f.stage, image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: instructions.filter((x) => x.stage === f.stage) }
    })
  return { instructions, stages, globalArgs }
}

/** The JSON (exec) form of CMD / ENTRYPOINT / HEALTHCHECK CMD, or undefined for the shell form. */
export const execForm = (args: string): string[] | undefined => {
  try {
    const v: unknown = JSON.parse(args)
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined
  } catch {
    return undefined
  }
}

/** ENV instructions of a stage as a map (both `ENV K=V K2=V2` and `ENV K V`). */
export const envOf = (stage: Stage): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const ins of stage.instructions.filter((x) => x.keyword === "ENV")) {
    if (/^\w+\s+[^=]*$/.test(ins.args) && !ins.args.includes("=")) {
      const [k, ...v] = ins.args.split(/\s+/)
      env[k!] = v.join(" ")
      continue
    }
    for (const m of ins.args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) env[m[1]!] = m[3] ?? m[2]!
  }
  return env
}

const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i

export const lintDockerfile = (text: string): string[] => {
  const { instructions, stages } = parseDockerfile(text)
  const problems: string[] = []
  const at = (i: Instruction, msg: string) => problems.push(`line ${i.line}: ${msg}`)
  if (stages.length < 2) problems.push("not multi-stage: build and runtime should be separate stages")
  const stageNames = new Set(stages.map((s) => s.name).filter((n): n is string => n !== undefined))
  for (const s of stages) {
    const from = s.instructions[0]!
    if (stageNames.has(s.image)) continue
    if (s.image.includes("${")) at(from, `FROM ${s.image}: an ARG without a default`)
    else if (!/@sha256:[0-9a-f]{64}$/.test(s.image) && !/:[^:/]*\d+\.\d+[^:/]*$/.test(s.image)) at(from, `FROM ${s.image}: pin the image by a versioned tag (major.minor at least) or a digest`)
    else if (/:latest$/.test(s.image)) at(from, `FROM ${s.image}: never :latest`)
  }
  for (const i of instructions) {
    if (i.keyword === "ADD") at(i, "ADD: use COPY (ADD fetches URLs and unpacks archives implicitly)")
    if (i.keyword === "RUN") {
      if (/\bapt-get\s+install\b/.test(i.args)) {
        if (!/--no-install-recommends/.test(i.args)) at(i, "apt-get install without --no-install-recommends")
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(i.args)) at(i, "apt-get install without removing /var/lib/apt/lists in the same RUN")
        if (!/\s-y\b|--yes\b/.test(i.args)) at(i, "apt-get install without -y")
      }
      if (/\bnpm\s+(install|i)\b/.test(i.args)) at(i, "npm install: use npm ci (the lock file, exactly)")
      if (/\bcurl\b[^|]*\|\s*(sh|bash)\b/.test(i.args)) at(i, "piping a download into a shell")
      if (/\bsudo\b/.test(i.args)) at(i, "sudo in a Dockerfile")
    }
    if (i.keyword === "ENV" || i.keyword === "ARG") {
      for (const m of i.args.matchAll(/(\w+)(=|\s|$)/g)) {
        if (SECRET_NAME.test(m[1]!)) at(i, `${i.keyword} ${m[1]}: secrets do not belong in the image (use a mounted Secret)`)
      }
    }
    if ((i.keyword === "CMD" || i.keyword === "ENTRYPOINT") && execForm(i.args) === undefined) at(i, `${i.keyword} in shell form: use the JSON form so signals reach the server`)
  }
  if (!instructions.some((i) => i.keyword === "RUN" && /\bnpm ci\b[^&]*--omit=dev/.test(i.args))) problems.push("no `npm ci --omit=dev`: the image would carry dev dependencies")
  const final = stages.at(-1)
  if (final) {
    const ins = final.instructions
    const user = ins.findLast((i) => i.keyword === "USER")
    const start = ins.findIndex((i) => i.keyword === "CMD" || i.keyword === "ENTRYPOINT")
    if (!user) problems.push("final stage: no USER (the server would run as root)")
    else {
      if (/^(root|0)(:|$)/.test(user.args)) at(user, "USER root in the final stage")
      if (start >= 0 && ins.indexOf(user) > start) at(user, "USER comes after CMD/ENTRYPOINT")
    }
    if (start < 0) problems.push("final stage: no ENTRYPOINT or CMD")
    const health = ins.find((i) => i.keyword === "HEALTHCHECK")
    if (!health) problems.push("final stage: no HEALTHCHECK")
    else if (!health.args.includes("/v2/health/ready")) at(health, "HEALTHCHECK does not ask /v2/health/ready")
  }
  return problems
}
