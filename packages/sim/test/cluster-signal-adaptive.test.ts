import { describe, expect, it } from "vitest"
import { simulate, tinyTrace, type PolicyResult } from "@meshkit/sim"
import { fullMode, handCluster } from "./support/hand-worked.js"

/**
 * Full mode feeds every arrival to a ClusterSignal that meshkit-adaptive's instances share: on a
 * trace where frequency wins cluster-wide (10 hot models, 3 requests each, beside 15 one-off
 * models a round; 25 models of 10 bytes against the cluster's 2 × 100 bytes), the instances
 * follow the cluster's choice (gdsf) once loads are seen (a hot model's 2nd request, 1 ms after
 * its 1st, finds it loading when it missed), instead of lru for good.
 */
const hotAndOneOffs = () => {
  const models: Array<{ id: string; size: number }> = []
  const requests: Array<readonly [number, string, number]> = []
  for (let i = 0; i < 10; i++) models.push({ id: `hot-${i}`, size: 10 })
  let t = 0
  for (let r = 0; r < 300; r++) {
    for (let i = 0; i < 10; i++) for (let k = 0; k < 3; k++) requests.push([(t += k === 0 ? 20 : 1), `hot-${i}`, 1])
    for (let i = 0; i < 15; i++) {
      models.push({ id: `once-${r}-${i}`, size: 10 })
      requests.push([(t += 20), `once-${r}-${i}`, 1])
    }
  }
  return tinyTrace(models, requests)
}

const run = async (eviction: string | { name: string; options: Record<string, unknown> }): Promise<PolicyResult> =>
  (await simulate(hotAndOneOffs(), fullMode(handCluster({ instances: 2 }), { eviction }))).result

describe("full mode: the cluster-wide signal meshkit-adaptive scores on", () => {
  it("makes its instances follow the cluster's choice: fewer misses than lru, as gdsf", async () => {
    const lru = await run("lru")
    const gdsf = await run("gdsf")
    expect(gdsf.misses).toBeLessThan(lru.misses * 0.8)
    const off = await run({ name: "meshkit-adaptive", options: { warmup: 100, cluster: "off" } })
    const follow = await run({ name: "meshkit-adaptive", options: { warmup: 100 } })
    // without the signal: lru once loads are seen (its first requests ran under the mix)
    expect(off.misses).toBeGreaterThan(gdsf.misses)
    expect(follow.misses).toBeLessThan(off.misses)
    expect(follow.misses).toBeLessThanOrEqual(gdsf.misses * 1.05)
  })
})
