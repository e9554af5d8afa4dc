import { describe, expect, it } from "vitest"
import { startIsolatedPolicy } from "../src/policy/policy-isolate.js"

// The policy benchmark's workers, started from the TypeScript sources (the path tests and `npx tsx`
// take; the bundled CLI loads the bundled worker entry instead).

describe("policy benchmark worker threads", () => {
  it("replays one policy in its own worker and reports requests per CPU-second for each round", async () => {
    const lru = await startIsolatedPolicy("lru")
    try {
      const first = await lru.round(20, 1 << 12)
      const second = await lru.round(20, 1 << 12)
      // the replay serves real requests through ModelCache: well above 0.1 M/s, well below 1,000 M/s
      for (const v of [first, second]) {
        expect(v).toBeGreaterThan(0.1)
        expect(v).toBeLessThan(1000)
      }
    } finally {
      await lru.stop()
    }
  })

  it("fails with the policy's name when the worker cannot build it", async () => {
    await expect(startIsolatedPolicy("no-such-policy")).rejects.toThrow(/policy no-such-policy: .*no-such-policy/)
  })
})
