/**
 * An instance's copies in request order, most recent first, as an intrusive doubly linked list
 * (the links live on the copies: O(1) per request, nothing allocated). Its oldest copy gives
 * ModelMesh's `lruTime` (InstanceView.lruTime) in O(1): placement prefers evicting on the
 * instance whose least recently used model has waited longest.
 */
export interface RecencyNode<N> {
  recencyPrev: N | null
  recencyNext: N | null
}

export class RecencyList<N extends RecencyNode<N>> {
  private newest: N | null = null
  private oldestNode: N | null = null

  /** the least recently used node, null when empty */
  oldest(): N | null {
    return this.oldestNode
  }

  pushFront(n: N): void {
    n.recencyPrev = null
    n.recencyNext = this.newest
    if (this.newest) this.newest.recencyPrev = n
    else this.oldestNode = n
    this.newest = n
  }

  unlink(n: N): void {
    if (n.recencyPrev) n.recencyPrev.recencyNext = n.recencyNext
    else this.newest = n.recencyNext
    if (n.recencyNext) n.recencyNext.recencyPrev = n.recencyPrev
    else this.oldestNode = n.recencyPrev
    n.recencyPrev = n.recencyNext = null
  }

  /** n was just used */
  moveToFront(n: N): void {
    if (this.newest === n) return
    this.unlink(n)
    this.pushFront(n)
  }
}
