import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { startLocalCluster, waitExit, type LocalCluster, type LocalClusterInstance } from "@meshkit/server"
import { meshkitBin, repoRoot } from "../harness/children.js"
import { inferBody, inputOf, makeModels, type Models } from "../harness/servers.js"

/**
 * The cluster under test: an etcd (from PATH) and N `meshkit serve --etcd` child processes on
 * loopback, started with `startLocalCluster` as `meshkit cluster up` does. Every model has
 * `maxCopies: 1`, so the scaler never adds a second copy under load: a request through a
 * non-holder is always forwarded, and a drained or killed instance's models really must move.
 */

export interface BenchCluster {
  readonly cluster: LocalCluster
  readonly models: Models
  readonly body: string
  readonly stop: () => Promise<void>
}

export const startBenchCluster = async (o: {
  dir: string
  instances: number
  models: number
  size: string
  extra?: ReadonlyArray<string>
}): Promise<BenchCluster> => {
  const models = await makeModels(o.dir, { count: o.models, size: o.size, prefix: "cl" })
  for (const f of models.files) await writeFile(f.replace(/\.onnx$/, ".json"), JSON.stringify({ maxCopies: 1 }))
  const input = await inputOf(models.files[0]!)
  const cluster = await startLocalCluster({
    instances: o.instances,
    serveCommand: [process.execPath, meshkitBin, "serve"],
    serveArgs: ["--models", o.dir, "--memory", "256MiB", "--log-level", "warn", ...(o.extra ?? [])],
    cwd: repoRoot,
    readyTimeoutMs: 120_000
  })
  return { cluster, models, body: inferBody(input.name, input.dim), stop: () => cluster.stop() }
}

export const alive = (c: LocalCluster): LocalClusterInstance[] => c.instances.filter((x) => x.child.exitCode === null && x.child.signalCode === null)

export const inferPath = (model: string) => `/v2/models/${encodeURIComponent(model)}/infer`

export const infer = async (url: string, model: string, body: string, timeoutMs = 30_000): Promise<number> => {
  const r = await fetch(`${url}${inferPath(model)}`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) })
  await r.arrayBuffer()
  return r.status
}

/** Which models each live instance holds, from /v1/cluster of `url`. */
export const holdings = async (url: string): Promise<Map<string, string[]>> => {
  const s = (await (await fetch(`${url}/v1/cluster`)).json()) as { instances: { id: string; models: string[] }[] }
  return new Map(s.instances.map((i) => [i.id, i.models]))
}

/** Loads every model once (round robin over the instances, so placement spreads them) and waits until each shows a holder. */
export const loadAll = async (bc: BenchCluster): Promise<Map<string, string[]>> => {
  const us = alive(bc.cluster).map((x) => x.url)
  for (let i = 0; i < bc.models.names.length; i++) {
    const m = bc.models.names[i]!
    const s = await infer(us[i % us.length]!, m, bc.body, 60_000)
    if (s !== 200) throw new Error(`first request for ${m} answered ${s}`)
  }
  const deadline = Date.now() + 20_000
  for (;;) {
    const h = await holdings(us[0]!)
    const held = new Set([...h.values()].flat())
    if (bc.models.names.every((m) => held.has(m))) return h
    if (Date.now() > deadline) throw new Error(`not every model shows a holder in /v1/cluster within 20 s: ${JSON.stringify([...h])}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

export const byId = (c: LocalCluster, id: string): LocalClusterInstance => {
  const x = c.instances.find((i) => i.id === id)
  if (!x) throw new Error(`no instance ${id}`)
  return x
}

export { waitExit }
