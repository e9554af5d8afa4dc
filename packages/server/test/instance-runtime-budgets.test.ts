import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng } from "@meshkit/core"
import { ModelManager } from "../src/instance/model-manager.js"
import { ModelTooLarge } from "../src/errors.js"
import { makeLog } from "../src/observability/log.js"
import { ServerMetrics } from "../src/observability/metrics.js"
import type { ModelRecord } from "../src/registry/registry.js"
import { modelRuntimes } from "../src/runtimes/index.js"
import type { LoadedModel, ModelRuntime, RuntimeHealth } from "../src/runtimes/runtime.js"

/**
 * The manager's side of runtimes with memory of their own (remote runtimes): their models are
 * admitted under the runtime's capacity in a cache of their own, a runtime's per-model
 * maxConcurrency limits admissions, and a runtime that is lost and back fails and frees its
 * models. The runtimes here are in-process stand-ins with immediate loads (the end-to-end test
 * test/remote-runtime.test.ts runs the same code against a real runtime process).
 */
const policy = (capacityBytes: number) => buildPolicy("eviction", "lru", { rng: makeRng(1), capacityBytes })

const runtimeOf = (name: string, format: string, sizes: Record<string, number>, extra: Partial<ModelRuntime> = {}) => {
  const events: string[] = []
  const listeners: Array<(h: RuntimeHealth) => void> = []
  const model = (id: string): LoadedModel => ({
    sizeBytes: sizes[id]!,
    inputs: [],
    outputs: [],
    ...(extra.capacityBytes !== undefined ? { maxConcurrency: 2 } : {}),
    infer: async () => [],
    unload: async () => {
      events.push(`unload ${id}`)
    }
  })
  const runtime: ModelRuntime = {
    name,
    formats: [format],
    platform: name,
    predictSize: async (path) => sizes[path]!,
    load: async (_path, id, target) => {
      events.push(`load ${id} ${target?.format} "${target?.key}"`)
      return model(id)
    },
    onHealthChange: (l) => listeners.push(l),
    ...extra
  }
  return { runtime, events, say: (h: RuntimeHealth) => listeners.forEach((l) => l(h)) }
}

const record = (id: string, format: string, labels: Record<string, string> = {}): ModelRecord => ({
  id,
  format,
  uri: id,
  path: id,
  source: "api",
  tenant: "t",
  labels,
  pinned: false,
  minCopies: 0,
  maxCopies: 1,
  registeredAt: 0
})

const setup = () => {
  const local = runtimeOf("local", "onnx", { small: 50, big: 150 })
  const remote = runtimeOf("tr", "linear", { r1: 400, r2: 400, r3: 400 }, { capacityBytes: 1000 })
  const manager = new ModelManager({
    capacityBytes: 100,
    policy: policy(100),
    policyFor: policy,
    runtimes: modelRuntimes([local.runtime, remote.runtime]),
    metrics: new ServerMetrics({ processMetrics: false }),
    log: makeLog("none"),
    maxConcurrentLoads: 2,
    loadQueueLimit: 100,
    loadTimeoutMs: 10_000,
    modelConcurrency: 64,
    queueLimit: 10,
    failureMemoryMs: 60_000,
    expireIntervalMs: 1000
  })
  const e = (id: string, format: string, labels?: Record<string, string>) => manager.register(record(id, format, labels))
  return { manager, local, remote, e }
}

describe("runtimes with their own capacity", () => {
  it("admit their models under the runtime's capacity, apart from the server's budget", async () => {
    const { manager, remote, e } = setup()
    const [r1, r2, r3] = [e("r1", "linear", { modelKey: "k1" }), e("r2", "linear"), e("r3", "linear")]
    await manager.ensureLoaded(r1, true)
    await manager.ensureLoaded(r2, true)
    // 400 + 400 of 1000: r3 evicts r1 (least recently used); the server's 100 bytes are untouched.
    await manager.ensureLoaded(r3, true)
    expect([manager.status(r1).status, manager.status(r2).status, manager.status(r3).status]).toEqual(["NOT_LOADED", "LOADED", "LOADED"])
    expect(manager.usedBytes).toBe(0)
    expect(remote.events).toEqual(['load r1 linear "k1"', 'load r2 linear ""', "unload r1", 'load r3 linear ""'])
    // The server's own budget still applies to its own runtime's models.
    const small = e("small", "onnx")
    await manager.ensureLoaded(small, true)
    expect(manager.usedBytes).toBe(50)
    await expect(manager.ensureLoaded(e("big", "onnx"), true)).rejects.toBeInstanceOf(ModelTooLarge)
  })

  it("admit at most a model's maxConcurrency requests at once", async () => {
    const { manager, e } = setup()
    const r1 = e("r1", "linear")
    await manager.acquire(r1)
    expect(manager.tryAcquire(r1)).toBeDefined()
    expect(manager.tryAcquire(r1)).toBeUndefined()
    const third = manager.acquire(r1)
    let got = false
    void third.then(() => (got = true))
    await new Promise((r) => setTimeout(r, 5))
    expect(got).toBe(false)
    manager.release(r1)
    await third
    expect(r1.inFlight).toBe(2)
  })

  it("lose their models with the runtime (LOADING_FAILED, the reason), and load them again once it is back", async () => {
    const { manager, remote, e } = setup()
    const r1 = e("r1", "linear")
    await manager.ensureLoaded(r1, true)
    remote.say({ ready: false, reason: "remote runtime tr at x:1 is unavailable: gone" })
    expect(manager.status(r1)).toMatchObject({ status: "LOADING_FAILED", errors: ["remote runtime tr at x:1 is unavailable: gone"] })
    await expect(manager.acquire(r1)).rejects.toThrow(/remote runtime tr at x:1 is unavailable: gone \(remembered/)
    remote.say({ ready: true })
    expect(manager.status(r1).status).toBe("NOT_LOADED")
    await manager.acquire(r1)
    expect(manager.status(r1).status).toBe("LOADED")
    expect(remote.events.filter((x) => x.startsWith("load r1"))).toHaveLength(2)
  })
})
