/**
 * Membership on a real etcd: lease-bound instance records that vanish when the instance stops
 * (revoked) or dies (keepalives stop: a killed process), re-granted when etcd drops the lease,
 * a restart with the same id that does not claim the copies of its previous life, and a
 * reconcile that lists a loaded copy the copy map misses only within maxCopies.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startEtcd, type EtcdServer } from "./support/etcd.js"
import { eventually, freshPrefix, idleStatus, memberFor, modelSpec, run } from "./support/cluster.js"
import type { InstanceStatus } from "../src/cluster/records.js"

let etcd: EtcdServer
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})

const fast = { checkIntervalMs: 50, minPublishIntervalMs: 100, heartbeatMs: 1_000, leaseTtlSeconds: 2 }

const etcdctl = (...args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const p = spawn("etcdctl", ["--endpoints", etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: "3" } })
    let out = ""
    p.stdout.on("data", (c: Buffer) => (out += c.toString()))
    p.stderr.on("data", (c: Buffer) => (out += c.toString()))
    p.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`etcdctl ${args.join(" ")}: ${out}`))))
  })

describe("cluster membership", () => {
  it("publishes its record, sees the others, republishes on significant change, and vanishes at once on a clean stop", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("members")
        let statusA: InstanceStatus = idleStatus({ httpUrl: "http://a" })
        const observer = yield* memberFor(etcd.endpoint, { instanceId: "obs", prefix, ...fast }, () => idleStatus())
        const scopeA = yield* Scope.make()
        const a = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => statusA).pipe(Scope.extend(scopeA))
        yield* eventually("observer sees a", () => observer.membership.instance("a"))
        expect(observer.membership.instance("a")?.httpUrl).toBe("http://a")
        expect(a.membership.isAlive("obs")).toBe(true)

        statusA = { ...statusA, models: ["m1"], usedBytes: 500 << 20 }
        yield* eventually("observer sees a's new model", () => observer.membership.instance("a")?.models.includes("m1"), 3_000)

        yield* Scope.close(scopeA, Exit.void)
        // revoked on stop: gone well before the 2 s TTL would have run out
        const t0 = Date.now()
        yield* eventually("a vanished", () => !observer.membership.isAlive("a"), 1_500)
        expect(Date.now() - t0).toBeLessThan(1_500)
      })
    ))

  it("a killed instance's record vanishes once its lease TTL runs out", async () => {
    const prefix = freshPrefix("killed")
    const script = fileURLToPath(new URL("./support/cluster-member.ts", import.meta.url))
    const child = spawn(process.execPath, ["--import", "tsx", script, etcd.endpoint, prefix, "victim", "2"], { stdio: ["ignore", "pipe", "pipe"] })
    let err = ""
    child.stderr.on("data", (c: Buffer) => (err += c.toString()))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => c.toString().includes("ready") && resolve())
      child.once("exit", (code) => reject(new Error(`member exited ${code}: ${err}`)))
    })
    await run(
      Effect.gen(function* () {
        const observer = yield* memberFor(etcd.endpoint, { instanceId: "obs", prefix, ...fast }, () => idleStatus())
        yield* eventually("observer sees the victim", () => observer.membership.isAlive("victim"))
        child.kill("SIGKILL")
        const t0 = Date.now()
        // still there right after the kill (nobody revoked), gone within TTL + a margin
        expect(observer.membership.isAlive("victim")).toBe(true)
        yield* eventually("victim vanished", () => !observer.membership.isAlive("victim"), 8_000)
        expect(Date.now() - t0).toBeGreaterThan(500)
      })
    )
  })

  it("when etcd drops its lease, the instance gets a new one and publishes again", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("regrant")
        const a = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => idleStatus())
        const first = a.membership.leaseId()!
        yield* Effect.promise(() => etcdctl("lease", "revoke", BigInt(first).toString(16)))
        yield* eventually("new lease", () => a.membership.grants() >= 2 && a.membership.leaseId() !== first, 8_000)
        const rec = yield* a.store.get(`${prefix}instances/a`)
        expect(rec).toBeDefined()
        yield* eventually("view has a again", () => a.membership.isAlive("a"), 3_000)
      })
    ))

  it("an instance restarting with the same id drops the copy entries of models it no longer holds", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("restart")
        const life1 = yield* Scope.make()
        const a1 = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => idleStatus({ models: ["kept", "lost"] })).pipe(
          Scope.extend(life1)
        )
        yield* a1.registry.register(modelSpec("kept"))
        yield* a1.registry.register(modelSpec("lost"))
        yield* a1.registry.claimCopy("kept", "a", 1)
        yield* a1.registry.claimCopy("lost", "a", 1)
        yield* a1.registry.claimCopy("lost", "b", 2)
        yield* Scope.close(life1, Exit.void)

        // second life: same id, holds only "kept" (e.g. from a shared disk cache), nothing of "lost"
        const a2 = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => idleStatus({ models: ["kept"] }))
        const lost = (yield* a2.store.get(`${prefix}registry/lost`))!
        const kept = (yield* a2.store.get(`${prefix}registry/kept`))!
        expect(Object.keys(JSON.parse(lost.value).instanceIds)).toEqual(["b"])
        expect(Object.keys(JSON.parse(kept.value).instanceIds)).toEqual(["a"])
      })
    ))

  it("reconciling, an instance lists a loaded copy the copy map misses only within maxCopies, counting live holders", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("reconcile-max")
        const b = yield* memberFor(etcd.endpoint, { instanceId: "b", prefix, ...fast }, () => idleStatus({ models: ["full"] }))
        for (const id of ["full", "dead-holder", "free"]) yield* b.registry.register({ ...modelSpec(id), maxCopies: 1 })
        yield* b.registry.claimCopy("full", "b", 1) // a live holder: full at maxCopies 1
        yield* b.registry.claimCopy("dead-holder", "ghost", 1) // an entry of an instance with no record
        // "a" holds all three (its entries were pruned while it looked gone, say) and starts
        // its membership: the first reconcile runs before memberFor returns
        const a = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => idleStatus({ models: ["full", "dead-holder", "free"] }))
        expect(a.membership.isAlive("b")).toBe(true)
        const holders = (id: string) => a.store.get(`${prefix}registry/${id}`).pipe(Effect.map((kv) => Object.keys(JSON.parse(kv!.value).instanceIds).sort()))
        expect(yield* holders("full"), "a listed a copy beyond maxCopies").toEqual(["b"])
        expect(yield* holders("dead-holder"), "a dead holder's entry counted").toEqual(["a", "ghost"])
        expect(yield* holders("free")).toEqual(["a"])
      })
    ))
})
