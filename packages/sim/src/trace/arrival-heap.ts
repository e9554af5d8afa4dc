/**
 * Binary min-heap of model indices keyed by their next arrival time (ties: lower model index
 * first, so the merged order is fully determined by the seed). Holds at most one entry per model.
 */
export class ArrivalHeap {
  private readonly heap: Int32Array
  private n = 0

  constructor(private readonly time: Float64Array) {
    this.heap = new Int32Array(time.length)
  }

  get size(): number {
    return this.n
  }

  /** model with the earliest next arrival; the heap must not be empty */
  top(): number {
    return this.heap[0]
  }

  push(model: number): void {
    let i = this.n++
    const h = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(model, h[parent])) break
      h[i] = h[parent]
      i = parent
    }
    h[i] = model
  }

  /** removes the top entry */
  pop(): void {
    const last = this.heap[--this.n]
    if (this.n > 0) this.siftDown(last)
  }

  /** the top model's time was increased in `time`: restore the order */
  updateTop(): void {
    this.siftDown(this.heap[0])
  }

  private siftDown(model: number): void {
    const h = this.heap
    const n = this.n
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && this.less(h[child + 1], h[child])) child++
      if (!this.less(h[child], model)) break
      h[i] = h[child]
      i = child
    }
    h[i] = model
  }

  private less(a: number, b: number): boolean {
    const ta = this.time[a]
    const tb = this.time[b]
    return ta < tb || (ta === tb && a < b)
  }
}
