/**
 * A cluster for the end-to-end tests: a real etcd, two (or more) `meshkit serve --etcd`
 * instances, each with its own test runtime process with 1 MiB of memory (as each ModelMesh pod
 * has its own runtime container), all on loopback, started before a file's tests and stopped
 * after them.
 */
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { freePort, startEtcd, type EtcdProcess } from "@meshkit/server"
import { ensureEtcd } from "../../packages/server/test/support/etcd.js"
import { startTestRuntime, type TestRuntime } from "../../packages/server/test/support/test-runtime/process.js"
import { removeDir, startServer, tempDir, type Served } from "../server-harness.js"

export interface RuntimeCluster {
  /** the models' folder (every instance's --model-roots) */
  dir: string
  etcd: EtcdProcess
  readonly runtimes: TestRuntime[]
  readonly servers: Served[]
  /** the flags of instance `id` on runtime `i` (to start one more during a test) */
  serverArgs(i: number, id: string): Promise<string[]>
}

export const withRuntimeCluster = (
  name: string,
  opts: {
    readonly ids: readonly string[]
    /** flags every instance gets after the common ones */
    readonly args?: readonly string[]
    /** runtimes to start (default one per instance; more for instances a test starts itself) */
    readonly runtimes?: number
    readonly prepare?: (dir: string) => Promise<void>
    /** give every instance a gRPC listener on a free port (default off) */
    readonly grpc?: boolean
  }
): RuntimeCluster => {
  const c: RuntimeCluster = {
    dir: "",
    etcd: undefined as unknown as EtcdProcess,
    runtimes: [],
    servers: [],
    serverArgs: async (i, id) => [
      "--port", String(await freePort()),
      "--grpc-port", opts.grpc === true ? String(await freePort()) : "off",
      "--etcd", c.etcd.endpoint,
      "--instance-id", id,
      "--data-dir", join(c.dir, `data-${id}`),
      "--model-roots", c.dir,
      ...(opts.args ?? []),
      "--remote-runtime", JSON.stringify({ name: `tr${i}`, address: c.runtimes[i]!.address, modelTypes: ["linear"], healthInterval: "250ms" })
    ]
  }
  beforeAll(async () => {
    c.dir = await tempDir(name)
    await opts.prepare?.(c.dir)
    c.etcd = await startEtcd({ bin: ensureEtcd() })
    for (let i = 0; i < (opts.runtimes ?? opts.ids.length); i++) c.runtimes.push(await startTestRuntime(["--capacity", String(1024 * 1024)]))
    for (const [i, id] of opts.ids.entries()) c.servers.push(await startServer(await c.serverArgs(i, id)))
  }, 180_000)
  afterAll(async () => {
    for (const s of c.servers) await s.stop()
    for (const r of c.runtimes) await r.stop()
    await c.etcd?.dispose()
    if (c.dir) await removeDir(c.dir)
  })
  return c
}

/** a model's copy entries as `GET /v1/models/{id}` on instance `s` reports them */
export interface Copy {
  readonly instanceId: string
  readonly status: string
  readonly since: number
}
