import type { ModelTable } from "./types.js"

/**
 * The growing ModelTable of one trace plus its id → index map. It lives as long as the Trace, so
 * a replay (a second `chunks()` call) finds every model at the index it got the first time.
 */
export class ModelTableBuilder {
  readonly table: ModelTable = { ids: [], tenants: [], sizes: [] }
  private readonly index = new Map<string, number>()

  get size(): number {
    return this.table.ids.length
  }

  indexOf(id: string): number | undefined {
    return this.index.get(id)
  }

  /** The model's index; a new model is appended with this tenant and size (first seen wins). */
  intern(id: string, tenant: string, sizeBytes: number): number {
    const known = this.index.get(id)
    if (known !== undefined) return known
    const i = this.table.ids.length
    this.table.ids.push(id)
    this.table.tenants.push(tenant)
    this.table.sizes.push(sizeBytes)
    this.index.set(id, i)
    return i
  }
}
