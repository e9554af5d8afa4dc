import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng } from "@meshkit/core"
import { ModelManager, type ModelEntry } from "../src/instance/model-manager.js"
import { CopyGone, LoadFailed, ModelTooLarge, Unavailable } from "../src/errors.js"
import { makeLog } from "../src/observability/log.js"
import { ServerMetrics } from "../src/observability/metrics.js"
import type { ModelRecord } from "../src/registry/registry.js"
import { modelRuntimes } from "../src/runtimes/index.js"
import type { LoadedModel, ModelRuntime } from "../src/runtimes/runtime.js"

/**
 * The model manager's rules, with a scripted runtime whose loads and unloads finish when the
 * test says so (the end-to-end tests in test/server-*.test.ts cover the same code with
 * onnxruntime; here the interleavings are exact).
 */

interface Deferred<T> {
  readonly promise: Promise<T>
  resolve(v: T): void
  reject(e: Error): void
}
const deferred = <T>(): Deferred<T> => {
  let resolve!: (v: T) => void
  let reject!: (e: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

/** A runtime whose every load and unload waits for the test; `events` records the order. */
const scriptedRuntime = (sizes: Record<string, number>) => {
  const events: string[] = []
  const loads = new Map<string, Deferred<LoadedModel>>()
  const unloads = new Map<string, Deferred<void>>()
  const runtime: ModelRuntime = {
    name: "scripted",
    formats: ["onnx"],
    platform: "scripted",
    predictSize: async (path) => sizes[path]!,
    load: (_path, id) => {
      events.push(`load ${id}`)
      const d = deferred<LoadedModel>()
      loads.set(id, d)
      return d.promise
    }
  }
  const model = (id: string, sizeBytes: number): LoadedModel => ({
    sizeBytes,
    inputs: [],
    outputs: [],
    infer: async () => [],
    unload: () => {
      events.push(`unload ${id}`)
      const d = deferred<void>()
      unloads.set(id, d)
      return d.promise
    }
  })
  /** Finish the pending load of `id` with a model of `size` bytes (default: its prediction). */
  const finishLoad = async (id: string, size = sizes[id]!) => {
    await until(() => loads.has(id))
    loads.get(id)!.resolve(model(id, size))
    loads.delete(id)
    await tick()
  }
  const finishUnload = async (id: string) => {
    await until(() => unloads.has(id))
    unloads.get(id)!.resolve()
    unloads.delete(id)
    await tick()
  }
  return { runtime, events, loads, unloads, finishLoad, finishUnload }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await tick()
  if (!cond()) throw new Error("condition never became true")
}

const record = (id: string, extra: Partial<ModelRecord> = {}): ModelRecord => ({
  id,
  format: "onnx",
  uri: id,
  path: id,
  source: "api",
  tenant: "t",
  labels: {},
  pinned: false,
  minCopies: 0,
  maxCopies: 1,
  registeredAt: 0,
  ...extra
})

const managerWith = (sizes: Record<string, number>, capacity: number, opts: Partial<ConstructorParameters<typeof ModelManager>[0]> = {}) => {
  const rt = scriptedRuntime(sizes)
  const manager = new ModelManager({
    capacityBytes: capacity,
    policy: buildPolicy("eviction", "lru", { rng: makeRng(1), capacityBytes: capacity }),
    runtimes: modelRuntimes([rt.runtime]),
    metrics: new ServerMetrics({ processMetrics: false }),
    log: makeLog("none"),
    maxConcurrentLoads: 2,
    loadQueueLimit: 100,
    loadTimeoutMs: 10_000,
    modelConcurrency: 4,
    queueLimit: 10,
    failureMemoryMs: 60_000,
    expireIntervalMs: 1000,
    ...opts
  })
  const entries: Record<string, ModelEntry> = {}
  for (const id of Object.keys(sizes)) entries[id] = manager.register(record(id))
  return { manager, entries, ...rt }
}

describe("ModelManager", () => {
  it("shares one load between concurrent requests", async () => {
    const { manager, entries, events, finishLoad } = managerWith({ a: 10 }, 100)
    const r1 = manager.acquire(entries.a!)
    const r2 = manager.acquire(entries.a!)
    await finishLoad("a")
    await Promise.all([r1, r2])
    expect(events).toEqual(["load a"])
    expect(entries.a!.inFlight).toBe(2)
    manager.release(entries.a!)
    manager.release(entries.a!)
    expect(manager.tryAcquire(entries.a!)).toBeDefined()
  })

  it("starts a load only after the victims making room for it have unloaded", async () => {
    const { manager, entries, events, finishLoad, finishUnload } = managerWith({ a: 60, b: 60 }, 100)
    const ra = manager.acquire(entries.a!)
    await finishLoad("a")
    await ra
    manager.release(entries.a!)
    const rb = manager.acquire(entries.b!)
    await until(() => events.includes("unload a"))
    expect(events).toEqual(["load a", "unload a"]) // b waits for a's memory
    expect(manager.usedBytes).toBe(120) // a's bytes held while it unloads, b's reserved
    await finishUnload("a")
    await finishLoad("b")
    await rb
    expect(events).toEqual(["load a", "unload a", "load b"])
    expect(manager.usedBytes).toBe(60)
  })

  it("unloads a model on request only once its requests have finished", async () => {
    const { manager, entries, events, finishLoad, finishUnload } = managerWith({ a: 10 }, 100)
    const ra = manager.acquire(entries.a!)
    await finishLoad("a")
    await ra
    let unloaded = false
    const u = manager.unload(entries.a!).then(() => (unloaded = true))
    await tick()
    expect(events).toEqual(["load a"])
    manager.release(entries.a!)
    await finishUnload("a")
    await u
    expect(unloaded).toBe(true)
    expect(manager.status(entries.a!).status).toBe("NOT_LOADED")
    expect(manager.usedBytes).toBe(0)
  })

  it("times a load out, remembers the failure, and keeps its bytes until the runtime lets go", async () => {
    const { manager, entries, events, finishLoad, finishUnload } = managerWith({ a: 30 }, 100, { loadTimeoutMs: 50 })
    await expect(manager.acquire(entries.a!)).rejects.toBeInstanceOf(LoadFailed)
    expect(manager.status(entries.a!)).toMatchObject({ status: "LOADING_FAILED", errors: [expect.stringMatching(/timed out after 50 ms/)] })
    expect(manager.usedBytes).toBe(30)
    // The remembered failure is answered without another load.
    await expect(manager.acquire(entries.a!)).rejects.toThrow(/remembered/)
    expect(events).toEqual(["load a"])
    await finishLoad("a")
    await finishUnload("a")
    expect(manager.usedBytes).toBe(0)
  })

  it("serves loads a request waits for before background loads", async () => {
    const { manager, entries, events, finishLoad } = managerWith({ a: 1, b: 1, c: 1 }, 100, { maxConcurrentLoads: 1 })
    const first = manager.ensureLoaded(entries.a!, false)
    await until(() => events.length === 1)
    const background = manager.ensureLoaded(entries.b!, false)
    const urgent = manager.acquire(entries.c!)
    await finishLoad("a")
    await finishLoad("c")
    await finishLoad("b")
    await Promise.all([first, background, urgent])
    expect(events).toEqual(["load a", "load c", "load b"])
  })

  it("answers 507 for a model larger than the budget and never evicts pinned or busy models", async () => {
    const { manager, entries } = managerWith({ big: 101 }, 100)
    await expect(manager.acquire(entries.big!)).rejects.toBeInstanceOf(ModelTooLarge)

    const m = managerWith({ p: 50, busy: 50, c: 10 }, 100, { loadTimeoutMs: 100 })
    m.manager.register(record("p", { pinned: true }))
    const rp = m.manager.acquire(m.entries.p!)
    await m.finishLoad("p")
    await rp
    m.manager.release(m.entries.p!)
    const rb = m.manager.acquire(m.entries.busy!)
    await m.finishLoad("busy")
    await rb // still in flight
    await expect(m.manager.acquire(m.entries.c!)).rejects.toBeInstanceOf(Unavailable)
    expect(m.manager.status(m.entries.p!).status).toBe("LOADED")
    expect(m.manager.status(m.entries.busy!).status).toBe("LOADED")
  })

  it("corrects the prediction with the measured size, evicting others if it grew", async () => {
    const { manager, entries, events, finishLoad, finishUnload } = managerWith({ a: 40, b: 40 }, 100)
    const ra = manager.acquire(entries.a!)
    await finishLoad("a")
    await ra
    manager.release(entries.a!)
    const rb = manager.acquire(entries.b!)
    await finishLoad("b", 70) // bigger than predicted: a must go
    await rb
    await until(() => events.includes("unload a"))
    await finishUnload("a")
    expect(manager.status(entries.b!).sizeBytes).toBe(70)
    expect(manager.usedBytes).toBe(70)
  })

  /**
   * A request joins a load under way; the model is unloaded the moment that load finishes, before
   * the request's turn (the unload's callback was registered on the load first). Exactly the
   * interleaving of "evicted between its load and the request getting a slot".
   */
  const goneBeforeTheSlot = async (leaveReloadsToCaller: boolean) => {
    const m = managerWith({ a: 10 }, 100)
    if (leaveReloadsToCaller) m.manager.leaveReloadsToCaller()
    const a = m.entries.a!
    const firstLoad = m.manager.ensureLoaded(a, false)
    const unloaded = firstLoad.then(() => m.manager.unload(a))
    const request = m.manager.acquire(a)
    const outcome = request.then(
      () => "served",
      (e: unknown) => e
    )
    await m.finishLoad("a")
    await m.finishUnload("a")
    await unloaded
    return { ...m, a, outcome }
  }

  it("a single server reloads a model unloaded between a request's load and its slot", async () => {
    const { events, finishLoad, outcome, manager, a } = await goneBeforeTheSlot(false)
    await finishLoad("a")
    expect(await outcome).toBe("served")
    expect(events).toEqual(["load a", "unload a", "load a"])
    expect(a.inFlight).toBe(1)
    expect(manager.status(a).status).toBe("LOADED")
  })

  it("in cluster mode hands that reload back to its caller (CopyGone) and loads nothing itself", async () => {
    const { events, outcome, manager, a, finishLoad } = await goneBeforeTheSlot(true)
    const err = await outcome
    expect(err).toBeInstanceOf(CopyGone)
    expect((err as CopyGone).message).toMatch(/"a" was unloaded here before the request got a slot/)
    await tick()
    expect(events).toEqual(["load a", "unload a"])
    expect(a.inFlight).toBe(0)
    expect(manager.status(a).status).toBe("NOT_LOADED")
    // The caller's own load (after its claim) is a first pass again: it loads.
    const again = manager.acquire(a)
    await finishLoad("a")
    await again
    expect(events).toEqual(["load a", "unload a", "load a"])
    expect(manager.status(a).status).toBe("LOADED")
  })
})
