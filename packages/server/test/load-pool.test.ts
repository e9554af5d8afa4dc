import { describe, expect, it } from "vitest"
import { LoadPool, Unavailable } from "../src/index.js"

/** The load pool: bounded concurrency, urgent loads first, promotion, a bounded queue. */

const gate = () => {
  let open!: () => void
  const p = new Promise<void>((r) => (open = r))
  return { p, open }
}
const tick = () => new Promise((r) => setTimeout(r, 0))

describe("load pool", () => {
  it("runs at most `concurrency` loads at once and starts the next when one ends", async () => {
    const pool = new LoadPool(2, 10)
    const gates = [gate(), gate(), gate()]
    const started: number[] = []
    const runs = gates.map((g, i) => pool.run(`m${i}`, false, async () => (started.push(i), await g.p, i)))
    await tick()
    expect(started).toEqual([0, 1])
    expect(pool.active).toBe(2)
    expect(pool.queued).toBe(1)
    gates[0]!.open()
    await tick()
    expect(started).toEqual([0, 1, 2])
    gates[1]!.open()
    gates[2]!.open()
    expect(await Promise.all(runs)).toEqual([0, 1, 2])
    expect(pool.active).toBe(0)
  })

  it("starts loads a request waits for before background loads, and promotes a background load a request starts waiting on", async () => {
    const pool = new LoadPool(1, 10)
    const first = gate()
    const order: string[] = []
    const task = (k: string) => async () => void order.push(k)
    const busy = pool.run("busy", false, async () => first.p)
    const runs = [pool.run("bg1", false, task("bg1")), pool.run("bg2", false, task("bg2")), pool.run("urgent", true, task("urgent"))]
    pool.promote("bg2")
    first.open()
    await Promise.all([busy, ...runs])
    expect(order).toEqual(["urgent", "bg2", "bg1"])
  })

  it("tells the task how long it queued", async () => {
    const pool = new LoadPool(1, 10)
    const first = gate()
    const busy = pool.run("a", false, async () => first.p)
    const queued = pool.run("b", false, async (ms) => ms)
    await new Promise((r) => setTimeout(r, 30))
    first.open()
    await busy
    expect(await queued).toBeGreaterThanOrEqual(20)
  })

  it("fails at once with Unavailable (retry in a second) when the queue is full", async () => {
    const pool = new LoadPool(1, 1)
    const first = gate()
    const busy = pool.run("a", false, async () => first.p)
    const waiting = pool.run("b", false, async () => "b")
    const err = await pool.run("c", false, async () => "c").catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Unavailable)
    expect((err as Unavailable).retryAfterMs).toBe(1000)
    expect((err as Unavailable).message).toMatch(/load queue is full \(1 loads waiting\)/)
    first.open()
    await busy
    expect(await waiting).toBe("b")
  })

  it("frees the slot when a task throws synchronously or rejects", async () => {
    const pool = new LoadPool(1, 10)
    await expect(pool.run("x", false, () => { throw new Error("boom") })).rejects.toThrow("boom")
    await expect(pool.run("y", false, async () => { throw new Error("late") })).rejects.toThrow("late")
    expect(pool.active).toBe(0)
    expect(await pool.run("z", false, async () => 1)).toBe(1)
  })
})
