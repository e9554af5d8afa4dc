/**
 * The mesh's request loop on in-memory records (pure logic; the real etcd and processes are in
 * test/cluster-mode.test.ts): failing peers are excluded and the next option tried, a load that
 * fails here is recorded and the model placed elsewhere, and every request ends within bounds.
 */
import { buildPolicy, Placer, policyRng } from "@meshkit/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { ForwardContext, ForwardMode, ForwardResult } from "../src/cluster/forwarder.js"
import { makeMeshDecider } from "../src/cluster/mesh-decision.js"
import { MeshView } from "../src/cluster/mesh-view.js"
import { Mesh, MAX_ATTEMPTS, type LocalResult } from "../src/cluster/mesh.js"
import type { ClusterModelRecord, InstanceRecord } from "../src/cluster/records.js"
import { idleStatus } from "./support/cluster.js"

const rec = (id: string, o: Partial<InstanceRecord> = {}): InstanceRecord => ({ ...idleStatus({ httpUrl: `http://${id}` }), id, startedAt: 0, publishedAt: 0, ...o })
const CLIENT: ForwardContext = { hops: 0, tried: [], failed: [], mode: undefined, from: undefined }

const world = (selfId: string, instances: InstanceRecord[], model: ClusterModelRecord) => {
  const models = new Map([[model.id, model]])
  const calls: string[] = []
  const registry = {
    model: (id: string) => models.get(id),
    claimCopy: (id: string, iid: string, at: number, opts: { whenFewerThan?: number; isAlive?: (i: string, since: number) => boolean } = {}) =>
      Effect.sync(() => {
        const m = models.get(id)!
        if (iid in m.instanceIds) return { claimed: true, record: m }
        const alive = opts.isAlive ?? (() => true)
        const holders = Object.entries(m.instanceIds).filter(([i, since]) => alive(i, since)).length
        if (holders >= (opts.whenFewerThan ?? Infinity)) return { claimed: false, record: m }
        const next = { ...m, instanceIds: { ...m.instanceIds, [iid]: at } }
        models.set(id, next)
        calls.push(`claim ${iid}`)
        return { claimed: true, record: next }
      }),
    releaseCopy: (id: string, iid: string) =>
      Effect.sync(() => {
        const m = models.get(id)!
        const { [iid]: _, ...rest } = m.instanceIds
        const next = { ...m, instanceIds: rest }
        models.set(id, next)
        calls.push(`release ${iid}`)
        return next
      }),
    recordLoadFailure: (id: string, iid: string, message: string, atMs: number) =>
      Effect.sync(() => {
        const m = models.get(id)!
        const { [iid]: _, ...rest } = m.instanceIds
        const next = { ...m, instanceIds: rest, failedIn: { ...m.failedIn, [iid]: { atMs, message } } }
        models.set(id, next)
        calls.push(`failed ${iid}`)
        return next
      })
  }
  const self = () => instances.find((r) => r.id === selfId)!
  const decider = makeMeshDecider({
    selfId,
    view: new MeshView(selfId),
    instances: () => instances,
    selfStatus: self,
    routing: buildPolicy("routing", "least-in-flight", { rng: policyRng(1, "routing") }),
    placer: new Placer(buildPolicy("placement", "least-loaded", { rng: policyRng(1, "placement") })),
    sizeOf: () => 1024,
    failureMemoryMs: 60_000
  })
  const mesh = new Mesh({
    selfId,
    decider,
    registry: registry as never,
    localCopy: () => "absent",
    shuttingDown: () => false,
    isAlive: (id) => instances.some((r) => r.id === id),
    warn: () => undefined
  })
  return { mesh, calls, models }
}

const model = (o: Partial<ClusterModelRecord> = {}): ClusterModelRecord => ({
  id: "m",
  format: "onnx",
  uri: "/m.onnx",
  path: "/m.onnx",
  source: "dir",
  tenant: "",
  labels: {},
  pinned: false,
  minCopies: 0,
  maxCopies: 1,
  registeredAt: 0,
  instanceIds: {},
  failedIn: {},
  refs: 0,
  ...o
})

describe("the mesh request loop", () => {
  it("excludes a holder that fails and places the model anew elsewhere", async () => {
    const { mesh } = world("a", [rec("a", { inFlight: 50 }), rec("b", { models: ["m"] }), rec("c")], model({ instanceIds: { b: 1 } }))
    const sent: string[] = []
    const out = await mesh.serve("m", CLIENT, {
      local: async (): Promise<LocalResult> => ({ kind: "served" }),
      forward: async (to: InstanceRecord, mode: ForwardMode): Promise<ForwardResult> => {
        sent.push(`${mode} ${to.id}`)
        return to.id === "b" ? { kind: "failed", reason: "ECONNREFUSED", refusal: undefined } : { kind: "answered", status: 200 }
      }
    })
    expect(out).toEqual({ kind: "done" })
    // b is dead: the request goes to c with "load here" (a is busier), and c is told b failed.
    expect(sent).toEqual(["hit b", "load c"])
  })

  it("counts a copy that a peer claimed after refusing a hit as not here: no second first copy", async () => {
    // b's entry (since 1) is stale: b evicted m and refuses the hit; while that refusal travels,
    // b claims m again for a load of its own (its entry gets a new start time). a must see that
    // claim as b's copy and send the request there, not load a second copy (maxCopies 1).
    const { mesh, calls, models } = world("a", [rec("a"), rec("b", { inFlight: 50 })], model({ instanceIds: { b: 1 } }))
    const sent: string[] = []
    const out = await mesh.serve("m", CLIENT, {
      local: async (): Promise<LocalResult> => ({ kind: "served" }),
      forward: async (to: InstanceRecord, mode: ForwardMode): Promise<ForwardResult> => {
        sent.push(`${mode} ${to.id}`)
        if (sent.length > 1) return { kind: "answered", status: 200 }
        models.set("m", { ...models.get("m")!, instanceIds: { b: 2 } })
        return { kind: "failed", refusal: "not-here", reason: "peer b refused: not-here" }
      }
    })
    expect(out).toEqual({ kind: "done" })
    expect(calls).not.toContain("claim a")
    expect(sent).toEqual(["hit b", "hit b"])
    expect(Object.keys(models.get("m")!.instanceIds)).toEqual(["b"])
  })

  it("still loads here when the peer that refused keeps only its stale entry", async () => {
    const { mesh, calls } = world("a", [rec("a"), rec("b", { inFlight: 50 })], model({ instanceIds: { b: 1 } }))
    const sent: string[] = []
    const out = await mesh.serve("m", CLIENT, {
      local: async (): Promise<LocalResult> => ({ kind: "served" }),
      forward: async (to: InstanceRecord, mode: ForwardMode): Promise<ForwardResult> => {
        sent.push(`${mode} ${to.id}`)
        return { kind: "failed", refusal: "not-here", reason: "peer b refused: not-here" }
      }
    })
    expect(out).toEqual({ kind: "done" })
    expect(sent).toEqual(["hit b"])
    expect(calls).toEqual(["claim a"])
  })

  it("a hit arriving while a peer-requested copy is claimed here joins that load and keeps its entry", async () => {
    // a scale-up asked a for a copy: its claim is written (entry since 5), its load not started yet
    const { mesh, calls } = world("a", [rec("a"), rec("b")], model({ instanceIds: { b: 1, a: 5 } }))
    let served = 0
    const hit = await mesh.whileClaiming("m", () =>
      mesh.serve("m", { hops: 1, tried: ["b"], failed: [], mode: "hit", from: "b" }, {
        local: async (): Promise<LocalResult> => {
          served++
          return { kind: "served" }
        },
        forward: async () => {
          throw new Error("a hit is never forwarded on")
        }
      })
    )
    expect(hit).toEqual({ kind: "done" })
    expect(served).toBe(1)
    expect(calls).toEqual([])
  })

  it("records a load that fails here and has the model loaded on another instance", async () => {
    const { mesh, calls, models } = world("a", [rec("a"), rec("b", { inFlight: 5 })], model())
    const forwardedCtx: ForwardContext[] = []
    const out = await mesh.serve("m", CLIENT, {
      local: async () => ({ kind: "load-failed", message: "bad file" }),
      forward: async (_to, mode, ctx) => {
        forwardedCtx.push(ctx)
        expect(mode).toBe("load")
        return { kind: "answered", status: 200 }
      }
    })
    expect(out).toEqual({ kind: "done" })
    expect(calls).toEqual(["claim a", "failed a"])
    expect(models.get("m")!.failedIn.a?.message).toBe("bad file")
    expect(forwardedCtx).toHaveLength(1)
  })

  it("tells the sender why when a forwarded load fails here, instead of forwarding on", async () => {
    const { mesh } = world("a", [rec("a"), rec("b")], model())
    const out = await mesh.serve("m", { hops: 1, tried: ["b"], failed: [], mode: "load", from: "b" }, {
      local: async () => ({ kind: "load-failed", message: "bad file" }),
      forward: async () => {
        throw new Error("must not forward")
      }
    })
    expect(out).toMatchObject({ kind: "refuse", refusal: "load-failed" })
  })

  it("gives up with the reasons when every instance fails, within its attempt bound", async () => {
    const { mesh } = world("a", [rec("a"), rec("b"), rec("c")], model())
    let forwards = 0
    const out = await mesh.serve("m", CLIENT, {
      local: async () => ({ kind: "load-failed", message: "local boom" }),
      forward: async (to) => {
        forwards++
        return { kind: "failed", reason: `${to.id} down`, refusal: undefined }
      }
    })
    expect(out.kind).toBe("unavailable")
    expect(out.kind === "unavailable" && out.message).toMatch(/local boom/)
    expect(out.kind === "unavailable" && out.message).toMatch(/down/)
    expect(forwards).toBeLessThanOrEqual(MAX_ATTEMPTS)
  })

  it("refuses a request that has been forwarded too often", async () => {
    const { mesh } = world("a", [rec("a")], model())
    const out = await mesh.serve("m", { hops: 99, tried: [], failed: [], mode: undefined, from: "x" }, {
      local: async () => ({ kind: "served" }),
      forward: async () => ({ kind: "answered", status: 200 })
    })
    expect(out).toMatchObject({ kind: "refuse", refusal: "hops" })
  })
})
