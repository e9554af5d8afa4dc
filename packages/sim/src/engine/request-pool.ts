/**
 * The requests in the system (waiting for room, waiting for a load, queued or executing), one
 * pool slot each, as typed arrays: nothing is allocated per request once the pool has grown.
 *
 * A request sits in at most one list at a time: the pool's free list (slot not in use), its
 * model's pending list (waiting for room) or its copy's queue (waiting for its load or for a
 * concurrency slot). So one `link` array chains all three kinds; `SlotFifo` is a list's two ends.
 */
export interface SlotFifo {
  head: number
  tail: number
}

/**
 * Built by a constructor, not an object literal: one is made per copy on the miss path, and V8
 * allocated the long-lived literal through a slower route than an inlined constructor (measured).
 */
class Fifo implements SlotFifo {
  head = -1
  tail = -1
}

export const emptyFifo = (): SlotFifo => new Fifo()

export class RequestPool {
  arrival = new Float64Array(1024)
  execMs = new Float64Array(1024)
  model = new Int32Array(1024)
  /** id of the copy serving it, once it has one */
  copy = new Int32Array(1024)
  /** next slot in whichever list holds this one, -1 at the end */
  link = new Int32Array(1024)
  private freeHead = -1
  private used = 0

  alloc(t: number, execMs: number, m: number): number {
    let s = this.freeHead
    if (s !== -1) this.freeHead = this.link[s]!
    else {
      if (this.used === this.arrival.length) this.grow()
      s = this.used++
    }
    this.arrival[s] = t
    this.execMs[s] = execMs
    this.model[s] = m
    return s
  }

  release(s: number): void {
    this.link[s] = this.freeHead
    this.freeHead = s
  }

  append(q: SlotFifo, s: number): void {
    this.link[s] = -1
    if (q.tail === -1) q.head = s
    else this.link[q.tail] = s
    q.tail = s
  }

  /** remove and return the head of a non-empty list */
  shift(q: SlotFifo): number {
    const s = q.head
    q.head = this.link[s]!
    if (q.head === -1) q.tail = -1
    return s
  }

  private grow(): void {
    const cap = this.arrival.length * 2
    this.arrival = growF64(this.arrival, cap, 0)
    this.execMs = growF64(this.execMs, cap, 0)
    this.model = growI32(this.model, cap, 0)
    this.copy = growI32(this.copy, cap, 0)
    this.link = growI32(this.link, cap, -1)
  }
}

export const growI32 = (a: Int32Array, cap: number, fill: number): Int32Array<ArrayBuffer> => {
  const b = new Int32Array(cap).fill(fill)
  b.set(a)
  return b
}

export const growF64 = (a: Float64Array, cap: number, fill: number): Float64Array<ArrayBuffer> => {
  const b = new Float64Array(cap).fill(fill)
  b.set(a)
  return b
}
