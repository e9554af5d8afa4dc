import type { ModelTable } from "../trace/types.js"
import type { TenantStats } from "../metrics/tenants.js"

/**
 * Per-model facts the hot loop reads, as typed arrays indexed by the trace's model integers.
 * The trace's ModelTable grows while streaming; `sync` picks up new models before a chunk runs.
 */
export class ModelIndex {
  count = 0
  tenant = new Int32Array(64)
  size = new Float64Array(64)
  loadCostMs = new Float64Array(64)
  readonly byId = new Map<string, number>()

  constructor(
    private readonly table: ModelTable,
    private readonly tenants: TenantStats,
    private readonly loadCost: (sizeBytes: number) => number
  ) {}

  sync(): void {
    const t = this.table
    const n = t.ids.length
    if (n === this.count) return
    if (n > this.size.length) {
      const cap = Math.max(n, this.size.length * 2)
      this.tenant = grow(this.tenant, new Int32Array(cap))
      this.size = grow(this.size, new Float64Array(cap))
      this.loadCostMs = grow(this.loadCostMs, new Float64Array(cap))
    }
    for (let i = this.count; i < n; i++) {
      const size = t.sizes[i]!
      this.tenant[i] = this.tenants.idOf(t.tenants[i]!)
      this.size[i] = size
      this.loadCostMs[i] = this.loadCost(size)
      this.byId.set(t.ids[i]!, i)
    }
    this.count = n
  }

  /** model index of a cache entry (eviction victims come back as Residents) */
  indexOf(id: string): number {
    const i = this.byId.get(id)
    if (i === undefined) throw new Error(`internal: unknown model ${id}`)
    return i
  }
}

const grow = <T extends Int32Array | Float64Array>(from: T, to: T): T => {
  to.set(from)
  return to
}
