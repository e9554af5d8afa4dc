import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { SESSION_OVERHEAD_BYTES } from "@meshkit/server"
import { infer, metric, metrics, withServer } from "./server-harness.js"

/**
 * meshkit-adaptive on a real standalone server decides as it does in the simulator's full mode
 * with one instance: it leads with its first expert (next-arrival); once requests find their
 * model loading (they join a load: the cache hears of them at once, as the simulator tells it),
 * it follows the choice made by scoring this server's own traffic, which is all the traffic
 * there is; on a cyclic scan that choice is next-arrival, and the scan starts to hit (lru, the
 * choice at first, never hits a scan longer than the cache). The policy deciding is read from
 * meshkit_eviction_policy_info{running}. Sizes are deterministic (--size-factor 1
 * --measure-size false): the budget holds three and a half of the 1 MiB models.
 */
const SCAN = ["s0", "s1", "s2", "s3", "s4", "s5"]
const BURST = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"]
const models: Record<string, readonly [number, number]> = {}
for (const [i, m] of [...SCAN, ...BURST].entries()) models[m] = [1024 * 1024, i + 1]

const fixture = withServer("adaptive", {
  models,
  args: (dir, bytes) => [
    "--models", dir,
    "--memory", String(Math.floor((bytes.s0! + SESSION_OVERHEAD_BYTES) * 3.5)),
    // a short warm-up, so that the scan below decides within a few hundred requests
    "--eviction", JSON.stringify({ name: "meshkit-adaptive", options: { warmup: 200 } }),
    "--data-dir", join(dir, "data"),
    "--size-factor", "1",
    "--measure-size", "false",
    "--log-level", "warn"
  ]
})

const ok = async (model: string) => {
  const res = await infer(fixture.server, model)
  expect(res.status, `${model}: ${await res.clone().text()}`).toBe(200)
  await res.arrayBuffer()
}

/** the expert meshkit-adaptive runs the cache by, as the server reports it */
const running = async (): Promise<string | undefined> => {
  const text = await metrics(fixture.server)
  expect(metric(text, 'meshkit_eviction_policy_info{policy="meshkit-adaptive",running="lru"}') ?? metric(text, 'meshkit_eviction_policy_info{policy="meshkit-adaptive",running="next-arrival"}')).toBe(1)
  return /meshkit_eviction_policy_info\{policy="meshkit-adaptive",running="([^"]+)"\} 1/.exec(text)?.[1]
}

const hits = async (): Promise<number> => metric(await metrics(fixture.server), "meshkit_cache_hits_total") ?? 0

describe("meshkit-adaptive on a real server", () => {
  it("runs the cache by its first expert while no request has found its model loading", async () => {
    for (const m of SCAN.slice(0, 3)) await ok(m)
    expect(await running()).toBe("next-arrival")
  })

  it("once requests join a load, follows the choice its own traffic's scores make: lru at first", async () => {
    // Concurrent requests for a cold model: those that arrive while it loads join that load.
    // (A burst may land before the load is admitted; then the next cold model is tried.)
    let settled = false
    for (const m of BURST) {
      await Promise.all(Array.from({ length: 12 }, () => ok(m)))
      if ((await running()) === "lru") {
        settled = true
        break
      }
    }
    expect(settled, "no burst of concurrent requests made meshkit-adaptive leave its first expert").toBe(true)
  })

  it("on a cyclic scan its traffic's scores choose next-arrival, and the scan starts to hit", async () => {
    let switchedAt = -1
    for (let round = 0; round < 120 && switchedAt < 0; round++) {
      for (const m of SCAN) await ok(m)
      if ((await running()) === "next-arrival") switchedAt = round
    }
    expect(switchedAt, "the own-traffic choice never became next-arrival").toBeGreaterThanOrEqual(0)
    // lru would miss every request of a 6-model scan in a cache of 3.5 models
    const before = await hits()
    for (let round = 0; round < 10; round++) for (const m of SCAN) await ok(m)
    expect((await hits()) - before).toBeGreaterThanOrEqual(10)
  })
})
