/**
 * Test support: unknown-field detection for Kubernetes manifests (what `kubectl apply
 * --validate=strict` does). kubernetes-models' validators check types and required fields but
 * accept any extra key, so a typo such as `readinesProbe` would pass them silently. This walks an
 * object along the TypeScript interfaces kubernetes-models ships (one .d.ts per API type, its
 * properties and the imported types of nested objects) and reports every key the API type does
 * not have. Nested types written inline (CRD models such as ServiceMonitor's) are not walked.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

interface ApiType {
  readonly props: Map<string, { readonly typeFile: string | undefined; readonly array: boolean }>
}

const cache = new Map<string, ApiType | undefined>()

/** `from "./Probe"` or `from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta"`, as a .d.ts path. */
const resolveImport = (fromFile: string, spec: string): string | undefined => {
  if (spec.startsWith(".")) return resolve(dirname(fromFile), `${spec}.d.ts`)
  for (let dir = dirname(fromFile); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, "node_modules", `${spec}.d.ts`)
    if (existsSync(p)) return p
  }
  return undefined
}

const load = (file: string): ApiType | undefined => {
  if (cache.has(file)) return cache.get(file)
  let result: ApiType | undefined
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8")
    const imports = new Map<string, string>()
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      const p = resolveImport(file, m[2]!)
      if (p) imports.set(m[1]!, p)
    }
    const start = /^export interface I\w+( extends TypeMeta)? \{$/m.exec(text)
    if (start) {
      const body = text.slice(start.index, text.indexOf("\n}\n", start.index))
      const props = new Map<string, { typeFile: string | undefined; array: boolean }>()
      if (start[1]) {
        props.set("apiVersion", { typeFile: undefined, array: false })
        props.set("kind", { typeFile: undefined, array: false })
      }
      for (const m of body.matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) {
        const type = m[2]!
        const arr = /^Array<(\w+)>$/.exec(type)
        const name = arr ? arr[1]! : /^\w+$/.test(type) ? type : undefined
        props.set(m[1]!, { typeFile: name ? imports.get(name) : undefined, array: arr !== null })
      }
      result = { props }
    }
  }
  cache.set(file, result)
  return result
}

/** The keys of `value` (at `path`) that its API type, described by `dtsFile`, does not have. */
export const unknownFields = (value: unknown, dtsFile: string, path = ""): string[] => {
  const t = load(dtsFile)
  if (t === undefined || typeof value !== "object" || value === null || Array.isArray(value)) return []
  const out: string[] = []
  for (const [k, v] of Object.entries(value)) {
    const prop = t.props.get(k)
    if (prop === undefined) {
      out.push(`${path}/${k}`)
      continue
    }
    if (prop.typeFile === undefined) continue
    if (prop.array && Array.isArray(v)) v.forEach((item, i) => out.push(...unknownFields(item, prop.typeFile!, `${path}/${k}/${i}`)))
    else if (!prop.array) out.push(...unknownFields(v, prop.typeFile, `${path}/${k}`))
  }
  return out
}
