/**
 * Test support: the part of kustomize the manifests in deploy/kubernetes use — `resources` (files
 * and directories with their own kustomization.yaml) and `patches` given as strategic-merge files
 * that patch maps (keys merged recursively; a list in a patch replaces the list). Anything else in
 * a kustomization.yaml is refused, so the manifests cannot grow a feature this resolver would
 * silently skip. There is no kustomize or kubectl binary on these machines.
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import { join, resolve } from "node:path"
import { parseAllDocuments, parse as parseYaml } from "yaml"

export type K8sObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  [k: string]: unknown
}

const ALLOWED_KEYS = new Set(["apiVersion", "kind", "resources", "patches"])

const readObjects = (file: string): K8sObject[] =>
  parseAllDocuments(readFileSync(file, "utf8")).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`)
    const v = d.toJS() as K8sObject | null
    return v === null ? [] : [v]
  })

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isMap(target) || !isMap(patch)) return patch
  const out: Record<string, unknown> = { ...target }
  for (const [k, v] of Object.entries(patch)) out[k] = k in out ? mergePatch(out[k], v) : v
  return out
}

/** Every object a kustomization directory builds, in order, with its patches applied. */
export const build = (dir: string): K8sObject[] => {
  const file = join(dir, "kustomization.yaml")
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`)
  const k = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown>
  const unknown = Object.keys(k).filter((key) => !ALLOWED_KEYS.has(key))
  if (unknown.length > 0) throw new Error(`${file}: ${unknown.join(", ")} not supported by the test resolver (resources and patches only)`)
  if (k.kind !== "Kustomization") throw new Error(`${file}: kind is ${String(k.kind)}`)
  const objects: K8sObject[] = []
  for (const r of (k.resources as string[] | undefined) ?? []) {
    const p = resolve(dir, r)
    if (!existsSync(p)) throw new Error(`${file}: resource ${r} does not exist`)
    objects.push(...(statSync(p).isDirectory() ? build(p) : readObjects(p)))
  }
  for (const patch of (k.patches as Array<{ path?: string }> | undefined) ?? []) {
    if (patch.path === undefined || Object.keys(patch).length !== 1) throw new Error(`${file}: only patches with a path (strategic merge files) are supported`)
    for (const p of readObjects(resolve(dir, patch.path))) {
      const i = objects.findIndex((o) => o.kind === p.kind && o.metadata.name === p.metadata.name)
      if (i < 0) throw new Error(`${file}: patch ${patch.path} targets ${p.kind}/${p.metadata.name}, which no resource defines`)
      objects[i] = mergePatch(objects[i], p) as K8sObject
    }
  }
  const seen = new Set<string>()
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.name}`
    if (seen.has(id)) throw new Error(`${dir}: ${id} defined twice`)
    seen.add(id)
  }
  return objects
}
