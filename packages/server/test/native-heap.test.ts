import { describe, expect, it } from "vitest"
import { glibcTrim, HeapGovernor } from "../src/instance/native-heap.js"

describe("the heap governor", () => {
  const governed = (rssValues: number[], limitBytes: number) => {
    let rss = rssValues.shift()!
    const trims: number[] = []
    const g = new HeapGovernor({
      rss: () => rss,
      trim: () => {
        rss = rssValues.shift() ?? rss
        return true
      },
      limitBytes,
      onTrim: (released) => trims.push(released)
    })
    return { g, trims, setRss: (v: number) => (rss = v) }
  }

  it("does nothing while resident memory is under its line", () => {
    const { g, trims } = governed([900], 1000)
    g.afterUnload()
    expect(g.trims).toBe(0)
    expect(trims).toEqual([])
  })

  it("trims after an unload over the line and counts what it gave back", () => {
    const { g, trims, setRss } = governed([1500, 1100], 1000)
    g.afterUnload()
    expect(g.trims).toBe(1)
    expect(trims).toEqual([400])
    setRss(1800)
    g.afterUnload()
    expect(g.trims).toBe(2)
    expect(g.releasedBytes).toBe(400)
  })
})

describe("glibc's malloc_trim", () => {
  it("is callable on this Linux machine (glibc), through koffi", () => {
    const trim = glibcTrim()
    expect(typeof trim, String(trim)).toBe("function")
    expect(typeof (trim as () => boolean)()).toBe("boolean")
  })
})
