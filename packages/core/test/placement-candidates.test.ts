import fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { InstanceView, PlacementRequest } from "@meshkit/core"
import { candidates, fillCandidates } from "../src/placement/constraints.js"

/**
 * `fillCandidates` (counted, into a buffer that is never shrunk: what modelmesh placement uses
 * on the simulator's hot path) must find exactly the candidates `candidates` does, in the same
 * order, whatever stale entries the buffer holds from earlier calls.
 */
const view = (i: number, o: { hasModel: boolean; shuttingDown: boolean; small: boolean; zone: string; gpu: boolean }): InstanceView => ({
  id: `i${i}`,
  capacityBytes: o.small ? 50 : 1000,
  usedBytes: 0,
  labels: { zone: o.zone, ...(o.gpu ? { gpu: "yes" } : {}) },
  loadingCount: 0,
  maxConcurrentLoads: 2,
  inFlight: 0,
  modelCount: 0,
  lruTime: Infinity,
  rpm: 0,
  shuttingDown: o.shuttingDown,
  hasModel: o.hasModel
})

const viewProps = fc.record({ hasModel: fc.boolean(), shuttingDown: fc.boolean(), small: fc.boolean(), zone: fc.constantFrom("a", "b"), gpu: fc.boolean() })

describe("placement candidates, counted", () => {
  it("fillCandidates finds what candidates finds, in order, over a reused buffer", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ views: fc.array(viewProps, { maxLength: 10 }), required: fc.option(fc.constantFrom("a", "b")), preferGpu: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        (calls) => {
          const buf: InstanceView[] = []
          for (const c of calls) {
            const views = c.views.map((o, i) => view(i, o))
            const req: PlacementRequest = {
              model: { id: "m", tenant: "t", format: "onnx", uri: "", sizeBytes: 100, loadCostMs: 1, labels: {}, pinned: false, minCopies: 1, maxCopies: 1 },
              sizeBytes: 100,
              ...(c.required !== null ? { required: { zone: c.required } } : {}),
              ...(c.preferGpu ? { preferred: { gpu: "yes" } } : {})
            }
            const want = candidates(req, views, []).map((v) => v.id)
            const n = fillCandidates(req, views, buf)
            expect(buf.slice(0, n).map((v) => v.id)).toEqual(want)
          }
        }
      )
    )
  })
})
