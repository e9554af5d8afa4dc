import { describe, expect, it } from "vitest"
import { FailureMemory, LoadFailed } from "../src/index.js"

/** ModelMesh's negative cache: a failed load is answered with its error for a while, then retried. */
describe("failure memory", () => {
  const err = (m: string) => new LoadFailed({ message: m })

  it("remembers a failure for its ttl, then lets the next request retry", () => {
    const f = new FailureMemory(1000)
    f.record("a", err("bad file"), 5000)
    expect(f.active("a", 5000)?.error.message).toBe("bad file")
    expect(f.active("a", 5999)?.until).toBe(6000)
    expect(f.active("a", 6000)).toBeUndefined()
    // The last error stays visible for status after the ttl.
    expect(f.last("a")?.error.message).toBe("bad file")
  })

  it("counts consecutive failures and forgets them on clear (a load succeeded)", () => {
    const f = new FailureMemory(1000)
    f.record("a", err("one"), 0)
    expect(f.record("a", err("two"), 2000).count).toBe(2)
    f.clear("a")
    expect(f.last("a")).toBeUndefined()
    expect(f.record("a", err("three"), 3000).count).toBe(1)
  })

  it("counts the models whose failure is still remembered", () => {
    const f = new FailureMemory(1000)
    f.record("a", err("x"), 0)
    f.record("b", err("y"), 500)
    expect(f.activeCount(999)).toBe(2)
    expect(f.activeCount(1200)).toBe(1)
    expect(f.activeCount(1500)).toBe(0)
  })
})
