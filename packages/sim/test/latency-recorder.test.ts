import * as hdr from "hdr-histogram-js"
import { describe, expect, it } from "vitest"
import { bufferBucketLow, bufferBucketOf, LatencyRecorder } from "../src/metrics/latency.js"

const BUCKETS = 2048 + 20 * 1024

describe("latency recorder (buffered counts flushed into an HDR histogram)", () => {
  it("each buffer bucket lies within one HDR bucket (3 significant digits)", () => {
    const js = hdr.build({ useWebAssembly: false, numberOfSignificantValueDigits: 3 }) as unknown as {
      lowestEquivalentValue(v: number): number
      highestEquivalentValue(v: number): number
    }
    for (let i = 0; i < BUCKETS; i++) {
      const lo = bufferBucketLow(i)
      const hi = i + 1 < BUCKETS ? bufferBucketLow(i + 1) - 1 : 2 ** 31 - 1
      expect(bufferBucketOf(lo)).toBe(i)
      expect(bufferBucketOf(hi)).toBe(i)
      expect(js.lowestEquivalentValue(hi)).toBe(js.lowestEquivalentValue(lo))
      expect(js.highestEquivalentValue(hi)).toBe(js.highestEquivalentValue(lo))
    }
  })

  it("reports exactly the percentiles of recording every value in the histogram", () => {
    let seed = 12345
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32
    // up to 1e9 µs: some values above 2^31 take the direct path
    for (const scale of [100, 5000, 1e5, 1e7, 1e9]) {
      const direct = hdr.build({ useWebAssembly: false, numberOfSignificantValueDigits: 3 })
      const rec = new LatencyRecorder()
      try {
        for (let k = 0; k < 50_000; k++) {
          const v = Math.round(scale * Math.exp(3 * (rnd() - 0.5)) * rnd())
          direct.recordValue(v)
          rec.record(v)
        }
        expect(rec.count).toBe(50_000)
        const p = rec.percentiles()
        expect([p.p50, p.p90, p.p99, p.p999]).toEqual([50, 90, 99, 99.9].map((q) => direct.getValueAtPercentile(q)))
        for (const [v, f] of rec.cdf()) expect(v).toBe(direct.getValueAtPercentile(f * 100))
        // asking again (nothing new buffered) gives the same answer
        expect(rec.percentiles()).toEqual(p)
      } finally {
        rec.destroy()
      }
    }
  })
})
