/**
 * A doubly linked list over model indices in two Int32Arrays (prev, next; -1 = none), head =
 * most recently inserted or moved: lru's and fifo's whole state, as core's SlotQueue keeps it,
 * but with the model index as the node so that no Resident object or slot map exists. `has`
 * marks residents. Grows with the trace's model table.
 */
export class RecencyList {
  prev = new Int32Array(1024)
  next = new Int32Array(1024)
  has = new Uint8Array(1024)
  head = -1
  tail = -1

  /** make room for model indices below `n` */
  ensure(n: number): void {
    if (n <= this.has.length) return
    let cap = this.has.length
    while (cap < n) cap *= 2
    const grow = <T extends Int32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a)
      return b
    }
    this.prev = grow(this.prev, new Int32Array(cap))
    this.next = grow(this.next, new Int32Array(cap))
    this.has = grow(this.has, new Uint8Array(cap))
  }

  pushHead(m: number): void {
    const h = this.head
    this.prev[m] = -1
    this.next[m] = h
    if (h >= 0) this.prev[h] = m
    else this.tail = m
    this.head = m
    this.has[m] = 1
  }

  moveToHead(m: number): void {
    const h = this.head
    if (m === h) return
    const prev = this.prev
    const next = this.next
    const p = prev[m]!
    const n = next[m]!
    // m is not the head, so p >= 0
    next[p] = n
    if (n >= 0) prev[n] = p
    else this.tail = p
    prev[m] = -1
    next[m] = h
    prev[h] = m
    this.head = m
  }

  /** remove and return the tail (the list must not be empty) */
  popTail(): number {
    const v = this.tail
    const p = this.prev[v]!
    this.tail = p
    if (p >= 0) this.next[p] = -1
    else this.head = -1
    this.has[v] = 0
    return v
  }
}
