import type { Resident } from "../domain.js"

/**
 * One resident's place in an IndexedHeap. `key` orders the heap (smallest first), `tie` breaks
 * equal keys (smallest first: policies use an insertion/access counter). `count` and `mark` are
 * spare fields for the owning policy (GDSF's frequency, the victim epoch), so hits allocate nothing.
 */
export class HeapNode {
  key = 0
  tie = 0
  idx = -1
  count = 0
  mark = 0
  /** spare per-policy number (e.g. a keep-alive length) */
  aux = 0
  constructor(readonly e: Resident) {}
}

const before = (a: HeapNode, b: HeapNode): boolean => a.key < b.key || (a.key === b.key && a.tie < b.tie)

/**
 * Binary min-heap whose nodes know their index, so a node whose key changed is re-sifted in
 * O(log n) and any node is removed in O(log n), without lazy-deletion garbage.
 */
export class IndexedHeap {
  readonly nodes: HeapNode[] = []
  /** scratch for `takeInOrder`: heap indices still to visit, itself a heap (reused, no allocation) */
  private readonly frontier: number[] = []

  get size(): number {
    return this.nodes.length
  }

  peek(): HeapNode | undefined {
    return this.nodes[0]
  }

  push(n: HeapNode): void {
    n.idx = this.nodes.length
    this.nodes.push(n)
    this.up(n.idx)
  }

  remove(n: HeapNode): void {
    const i = n.idx
    if (i < 0) return
    const last = this.nodes.pop()!
    n.idx = -1
    if (last === n) return
    this.nodes[i] = last
    last.idx = i
    this.update(last)
  }

  /** Restore order after `n.key` / `n.tie` changed in either direction. */
  update(n: HeapNode): void {
    const i = n.idx
    if (i > 0 && before(n, this.nodes[(i - 1) >> 1]!)) this.up(i)
    else this.down(i)
  }

  /**
   * Residents in key order, skipping those `evictable` rejects, until their sizes reach `need`.
   * Walks the heap best-first through a side frontier instead of popping, so the heap itself is
   * untouched (the cache may evict only some of them, or none). O(k log k) for k nodes visited.
   */
  takeInOrder(need: number, evictable: (e: Resident) => boolean): Resident[] {
    const out: Resident[] = []
    const nodes = this.nodes
    if (nodes.length === 0) return out
    const f = this.frontier
    f.length = 0
    f.push(0)
    let freed = 0
    while (f.length > 0 && freed < need) {
      const i = this.popFrontier()
      const n = nodes[i]!
      if (evictable(n.e)) {
        out.push(n.e)
        freed += n.e.size
      }
      const l = 2 * i + 1
      if (l < nodes.length) this.pushFrontier(l)
      if (l + 1 < nodes.length) this.pushFrontier(l + 1)
    }
    return out
  }

  /**
   * Step-by-step form of walkInOrder for callers that interleave the walk with other queues:
   * `beginWalk()`, then `nextInWalk()` until null. The heap must not change in between.
   */
  beginWalk(): void {
    const f = this.frontier
    f.length = 0
    if (this.nodes.length > 0) f.push(0)
  }

  nextInWalk(): HeapNode | null {
    if (this.frontier.length === 0) return null
    const nodes = this.nodes
    const i = this.popFrontier()
    const l = 2 * i + 1
    if (l < nodes.length) this.pushFrontier(l)
    if (l + 1 < nodes.length) this.pushFrontier(l + 1)
    return nodes[i]!
  }

  /**
   * Visit nodes in key order (best-first, heap untouched) until `visit` returns false.
   * For the rarer scans (keep-alive expiry); O(k log k) for k nodes visited.
   */
  walkInOrder(visit: (n: HeapNode) => boolean): void {
    const nodes = this.nodes
    if (nodes.length === 0) return
    const f = this.frontier
    f.length = 0
    f.push(0)
    while (f.length > 0) {
      const i = this.popFrontier()
      if (!visit(nodes[i]!)) return
      const l = 2 * i + 1
      if (l < nodes.length) this.pushFrontier(l)
      if (l + 1 < nodes.length) this.pushFrontier(l + 1)
    }
  }

  private up(i: number): void {
    const a = this.nodes
    const n = a[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const pn = a[p]!
      if (!before(n, pn)) break
      a[i] = pn
      pn.idx = i
      i = p
    }
    a[i] = n
    n.idx = i
  }

  private down(i: number): void {
    const a = this.nodes
    const len = a.length
    const n = a[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= len) break
      const r = l + 1
      const c = r < len && before(a[r]!, a[l]!) ? r : l
      const cn = a[c]!
      if (!before(cn, n)) break
      a[i] = cn
      cn.idx = i
      i = c
    }
    a[i] = n
    n.idx = i
  }

  private pushFrontier(i: number): void {
    const f = this.frontier
    const a = this.nodes
    let j = f.length
    f.push(i)
    while (j > 0) {
      const p = (j - 1) >> 1
      if (!before(a[i]!, a[f[p]!]!)) break
      f[j] = f[p]!
      j = p
    }
    f[j] = i
  }

  private popFrontier(): number {
    const f = this.frontier
    const a = this.nodes
    const top = f[0]!
    const last = f.pop()!
    const len = f.length
    if (len === 0) return top
    let j = 0
    for (;;) {
      const l = 2 * j + 1
      if (l >= len) break
      const r = l + 1
      const c = r < len && before(a[f[r]!]!, a[f[l]!]!) ? r : l
      if (!before(a[f[c]!]!, a[last]!)) break
      f[j] = f[c]!
      j = c
    }
    f[j] = last
    return top
  }
}
