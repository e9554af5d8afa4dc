import type { Resident } from "../domain.js"

/**
 * Per-policy arena: each resident gets a small integer slot (stored in `Resident.slot`) and its
 * policy state lives in typed arrays indexed by that slot, not in one object per resident.
 * At 10,000 residents every array fits in the CPU's L2 cache, so the pointer chasing of linked
 * lists and heaps (the cost of a hit) stays cheap. Slots are reused after release.
 */
export class Slots {
  cap = 0
  res: (Resident | undefined)[] = []
  prev = new Int32Array(0)
  next = new Int32Array(0)
  /** flag bits or a small counter (SIEVE's visited bit, S3-FIFO's frequency and queue) */
  bits = new Uint8Array(0)
  /** request count while resident (frequency policies) */
  count = new Float64Array(0)
  /** bytes as counted by the policy's queues (kept in step by the policy's onResize) */
  bytes = new Float64Array(0)
  /** victim marks (the epoch in which chooseVictims offered it) */
  mark = new Float64Array(0)
  private readonly free: number[] = []
  private used = 0
  private readonly growers: ((cap: number) => void)[] = []

  constructor(initial = 64) {
    this.grow(initial)
  }

  /** Give `e` a slot (recorded in e.slot) with cleared state. */
  alloc(e: Resident): number {
    const s = this.free.length > 0 ? this.free.pop()! : this.used++
    if (s >= this.cap) this.grow(this.cap * 2)
    this.res[s] = e
    this.prev[s] = -1
    this.next[s] = -1
    this.bits[s] = 0
    this.count[s] = 0
    this.bytes[s] = e.size
    this.mark[s] = 0
    e.slot = s
    return s
  }

  release(s: number): void {
    this.res[s] = undefined
    this.free.push(s)
  }

  /** Structures keeping their own per-slot arrays grow with the arena. */
  onGrow(f: (cap: number) => void): void {
    this.growers.push(f)
  }

  private grow(cap: number): void {
    const copy = <T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap)
      b.set(a)
      return b
    }
    this.prev = copy(this.prev, (n) => new Int32Array(n))
    this.next = copy(this.next, (n) => new Int32Array(n))
    this.bits = copy(this.bits, (n) => new Uint8Array(n))
    this.count = copy(this.count, (n) => new Float64Array(n))
    this.bytes = copy(this.bytes, (n) => new Float64Array(n))
    this.mark = copy(this.mark, (n) => new Float64Array(n))
    for (let i = this.res.length; i < cap; i++) this.res.push(undefined)
    this.cap = cap
    for (const f of this.growers) f(cap)
  }
}

/**
 * A doubly linked queue of slots over an arena's prev/next arrays (a slot is in at most one
 * queue at a time, so several queues share the arrays). Head = newest, tail = oldest; -1 = none.
 */
export class SlotQueue {
  head = -1
  tail = -1
  size = 0
  constructor(readonly slots: Slots) {}

  pushHead(s: number): void {
    const { prev, next } = this.slots
    prev[s] = -1
    next[s] = this.head
    if (this.head >= 0) prev[this.head] = s
    else this.tail = s
    this.head = s
    this.size++
  }

  pushTail(s: number): void {
    const { prev, next } = this.slots
    next[s] = -1
    prev[s] = this.tail
    if (this.tail >= 0) next[this.tail] = s
    else this.head = s
    this.tail = s
    this.size++
  }

  unlink(s: number): void {
    const { prev, next } = this.slots
    const p = prev[s]!
    const n = next[s]!
    if (p >= 0) next[p] = n
    else this.head = n
    if (n >= 0) prev[n] = p
    else this.tail = p
    prev[s] = next[s] = -1
    this.size--
  }

  moveToHead(s: number): void {
    if (this.head === s) return
    this.unlink(s)
    this.pushHead(s)
  }

  /** Evictable residents from the tail towards the head until their sizes reach `need`. */
  takeFromTail(need: number, evictable: (e: Resident) => boolean): Resident[] {
    const out: Resident[] = []
    const { prev, res } = this.slots
    let freed = 0
    for (let s = this.tail; s >= 0 && freed < need; s = prev[s]!) {
      const e = res[s]!
      if (evictable(e)) {
        out.push(e)
        freed += e.size
      }
    }
    return out
  }
}
