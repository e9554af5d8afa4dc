import type { Resident } from "../domain.js"
import type { EvictionPolicy } from "../eviction/policy.js"
import { Slots } from "./slots.js"

/**
 * Binary min-heap of arena slots ordered by (key, tie), both per-slot numbers the policy sets
 * before push/update. Positions are tracked per slot, so a changed key is re-sifted and any slot
 * removed in O(log n); everything is typed arrays (no object per node, no lazy-deletion garbage).
 */
export class SlotHeap {
  key = new Float64Array(0)
  tie = new Float64Array(0)
  /** slot → position in `heap`, -1 when absent */
  pos = new Int32Array(0)
  heap = new Int32Array(0)
  size = 0
  /** scratch for ordered walks: heap positions still to visit, itself a heap */
  private frontier = new Int32Array(0)
  private flen = 0

  constructor(readonly slots: Slots) {
    this.grow(slots.cap)
    slots.onGrow((cap) => this.grow(cap))
  }

  has(s: number): boolean {
    return this.pos[s]! >= 0
  }

  /** the slot with the smallest (key, tie), or -1 */
  peek(): number {
    return this.size > 0 ? this.heap[0]! : -1
  }

  push(s: number): void {
    const i = this.size++
    this.heap[i] = s
    this.pos[s] = i
    this.up(i)
  }

  remove(s: number): void {
    const i = this.pos[s]!
    if (i < 0) return
    this.pos[s] = -1
    const last = this.heap[--this.size]!
    if (i === this.size) return
    this.heap[i] = last
    this.pos[last] = i
    this.fix(i)
  }

  /** Restore order after key[s] / tie[s] changed in either direction. */
  update(s: number): void {
    this.fix(this.pos[s]!)
  }

  /** Re-heapify after changing many keys at once (Floyd, O(n)). */
  rebuild(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.down(i)
  }

  /**
   * Residents in key order, skipping those `evictable` rejects, until their sizes reach `need`.
   * Walks the heap best-first through the frontier instead of popping, so the heap is untouched
   * (the cache may evict only some of them, or none). O(k log k) for k slots visited.
   */
  takeInOrder(need: number, evictable: (e: Resident) => boolean): Resident[] {
    const out: Resident[] = []
    const res = this.slots.res
    let freed = 0
    this.beginWalk()
    while (freed < need) {
      const s = this.nextInWalk()
      if (s < 0) break
      const e = res[s]!
      if (evictable(e)) {
        out.push(e)
        freed += e.size
      }
    }
    return out
  }

  /** Ordered walk, step by step: `beginWalk()`, then `nextInWalk()` until -1. The heap must not change in between. */
  beginWalk(): void {
    this.flen = 0
    if (this.size > 0) this.frontier[this.flen++] = 0
  }

  nextInWalk(): number {
    if (this.flen === 0) return -1
    const i = this.popFrontier()
    const l = 2 * i + 1
    if (l < this.size) this.pushFrontier(l)
    if (l + 1 < this.size) this.pushFrontier(l + 1)
    return this.heap[i]!
  }

  private before(a: number, b: number): boolean {
    const ka = this.key[a]!
    const kb = this.key[b]!
    return ka < kb || (ka === kb && this.tie[a]! < this.tie[b]!)
  }

  private fix(i: number): void {
    if (i > 0 && this.before(this.heap[i]!, this.heap[(i - 1) >> 1]!)) this.up(i)
    else this.down(i)
  }

  private up(i: number): void {
    const h = this.heap
    const pos = this.pos
    const s = h[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const ps = h[p]!
      if (!this.before(s, ps)) break
      h[i] = ps
      pos[ps] = i
      i = p
    }
    h[i] = s
    pos[s] = i
  }

  private down(i: number): void {
    const h = this.heap
    const pos = this.pos
    const len = this.size
    const s = h[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= len) break
      const r = l + 1
      const c = r < len && this.before(h[r]!, h[l]!) ? r : l
      const cs = h[c]!
      if (!this.before(cs, s)) break
      h[i] = cs
      pos[cs] = i
      i = c
    }
    h[i] = s
    pos[s] = i
  }

  private pushFrontier(i: number): void {
    const f = this.frontier
    const h = this.heap
    let j = this.flen++
    while (j > 0) {
      const p = (j - 1) >> 1
      if (!this.before(h[i]!, h[f[p]!]!)) break
      f[j] = f[p]!
      j = p
    }
    f[j] = i
  }

  private popFrontier(): number {
    const f = this.frontier
    const h = this.heap
    const top = f[0]!
    const last = f[--this.flen]!
    const len = this.flen
    if (len === 0) return top
    let j = 0
    for (;;) {
      const l = 2 * j + 1
      if (l >= len) break
      const r = l + 1
      const c = r < len && this.before(h[f[r]!]!, h[f[l]!]!) ? r : l
      if (!this.before(h[f[c]!]!, h[last]!)) break
      f[j] = f[c]!
      j = c
    }
    f[j] = last
    return top
  }

  private grow(cap: number): void {
    const key = new Float64Array(cap)
    key.set(this.key)
    const tie = new Float64Array(cap)
    tie.set(this.tie)
    const pos = new Int32Array(cap).fill(-1)
    pos.set(this.pos)
    const heap = new Int32Array(cap)
    heap.set(this.heap)
    this.key = key
    this.tie = tie
    this.pos = pos
    this.heap = heap
    this.frontier = new Int32Array(cap)
  }
}

/**
 * The heap skeleton of an eviction order (lfu, belady): every resident in a SlotHeap, lowest
 * (key, tie) evicted first. `keyOf` sets key[s] / tie[s] for a resident when it is admitted
 * (`inserted`) or hit; the four ordering handlers around it are the same for every such policy.
 */
export const heapOrder = (keyOf: (heap: SlotHeap, s: number, e: Resident, inserted: boolean) => void) => {
  const slots = new Slots()
  const heap = new SlotHeap(slots)
  const order: Pick<EvictionPolicy, "onInsert" | "onHit" | "onRemove" | "chooseVictims"> = {
    onInsert(e) {
      const s = slots.alloc(e)
      keyOf(heap, s, e, true)
      heap.push(s)
    },
    onHit(e) {
      const s = e.slot as number
      keyOf(heap, s, e, false)
      heap.update(s)
    },
    onRemove(e) {
      const s = e.slot as number
      heap.remove(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      return heap.takeInOrder(need, evictable)
    }
  }
  return { slots, heap, order }
}
