import { describePolicies, families } from "@meshkit/core"
import { parse } from "../args.js"

const help = `usage: meshkit policies [--json]

Lists every policy: family (eviction / placement / routing / scaling), name, one line, options.
Choose them in a scenario (policies: {eviction: gdsf, ...}) or with meshkit serve --eviction NAME.`

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(argv, { json: { type: "boolean" } }, help)
  if (!a) return 0
  const all = describePolicies()
  if (a.values.json) {
    console.log(JSON.stringify(all, null, 2))
    return 0
  }
  for (const f of families) {
    console.log(`${f}:`)
    for (const p of all.filter((d) => d.family === f)) {
      const opts = optionNames(p.options)
      console.log(`  ${p.name.padEnd(25)} ${p.description}${p.offline ? " [offline: simulator only]" : ""}`)
      if (opts) console.log(`  ${"".padEnd(25)} options: ${opts}`)
    }
  }
  return 0
}

const optionNames = (schema: unknown): string => {
  const props = (schema as { properties?: Record<string, { description?: string; type?: string }> })?.properties
  if (!props) return ""
  return Object.entries(props)
    .map(([k, v]) => `${k}${v.type ? ` (${v.type})` : ""}`)
    .join(", ")
}
