import { describe, expect, it } from "vitest"
import { copyStatus } from "../src/cluster/copy-status.js"

/** What a copy-map entry is reported as, from the instance record it is read against. */
const record = (o: { models?: string[]; loading?: string[]; publishedAt: number }) => ({ models: o.models ?? [], loadingModels: o.loading ?? [], publishedAt: o.publishedAt })

describe("copyStatus", () => {
  it("reads loaded and loading from the instance's record", () => {
    expect(copyStatus("m", 100, record({ models: ["m"], publishedAt: 200 }))).toBe("LOADED")
    expect(copyStatus("m", 100, record({ loading: ["m"], publishedAt: 200 }))).toBe("LOADING")
  })

  it("calls an entry the record, published after the claim, does not back a stale one: NOT_LOADED", () => {
    expect(copyStatus("m", 100, record({ models: ["other"], publishedAt: 200 }))).toBe("NOT_LOADED")
    expect(copyStatus("m", 100, record({ publishedAt: 100 }))).toBe("NOT_LOADED")
  })

  it("counts a claim newer than the record, or one under way here, as a load starting", () => {
    expect(copyStatus("m", 300, record({ publishedAt: 200 }))).toBe("LOADING")
    expect(copyStatus("m", 100, record({ publishedAt: 200 }), true)).toBe("LOADING")
  })

  it("is UNKNOWN without a record (the instance is gone)", () => {
    expect(copyStatus("m", 100, undefined)).toBe("UNKNOWN")
  })
})
