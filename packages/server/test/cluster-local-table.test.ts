/**
 * The local copy of an etcd prefix (pure logic, no etcd): updates are applied by revision so a
 * snapshot and the watch events around a reconnect can arrive in any order.
 */
import { describe, expect, it } from "vitest"
import { LocalTable } from "../src/cluster/local-table.js"

const table = () => new LocalTable<{ n: number }>("p/", (t) => {
  const v = JSON.parse(t) as { n?: unknown }
  return typeof v.n === "number" ? { n: v.n } : undefined
})
const e = (id: string, n: number, rev: number) => ({ key: `p/${id}`, value: JSON.stringify({ n }), modRevision: rev })

describe("cluster local table", () => {
  it("keeps the newest value whatever order puts, deletes and snapshots arrive in", () => {
    const t = table()
    t.reset({ entries: [e("a", 1, 5)], revision: 5 })
    t.put(e("a", 2, 7))
    t.put(e("a", 1, 5)) // a repeat of an older event
    expect(t.get("a")).toEqual({ n: 2 })
    // a snapshot read at revision 6 arrives after the event of revision 7: the newer value stays
    t.reset({ entries: [e("a", 1, 5)], revision: 6 })
    expect(t.get("a")).toEqual({ n: 2 })
    // delete at 9 seen before a snapshot taken at 8 that still has the key: stays deleted
    t.delete("p/a", 9)
    t.reset({ entries: [e("a", 2, 7)], revision: 8 })
    expect(t.has("a")).toBe(false)
    // a key missing from a snapshot is dropped unless it changed after the snapshot
    t.put(e("b", 1, 10))
    t.put(e("c", 1, 12))
    t.reset({ entries: [], revision: 11 })
    expect([...t.ids()]).toEqual(["c"])
    // keys outside the prefix, and values that are not records, are ignored / not served
    t.put({ key: "q/x", value: "{}", modRevision: 20 })
    t.put({ key: "p/c", value: JSON.stringify({ n: "bad" }), modRevision: 21 })
    expect(t.size).toBe(0)
  })

  it("tells listeners about changes and reports connection state", () => {
    const t = table()
    const seen: Array<[string, number | undefined]> = []
    t.onChange((id, v) => seen.push([id, v?.n]))
    expect(t.connected).toBe(false)
    t.reset({ entries: [e("a", 1, 1)], revision: 1 })
    expect(t.connected).toBe(true)
    t.disconnected()
    expect(t.connected).toBe(false)
    t.delete("p/a", 2)
    expect(seen).toEqual([["a", 1], ["a", undefined]])
  })
})
