import type { Resident } from "../domain.js"

/**
 * Intrusive doubly linked list of residents, the building block of the O(1) queue policies
 * (lru, fifo, sieve, s3fifo). Head = most recently inserted/moved, tail = oldest.
 */
export interface Node {
  e: Resident
  prev: Node | null
  next: Node | null
  /** per-policy flag bits (SIEVE's visited, S3-FIFO's frequency...) */
  bits: number
}

export class DList {
  head: Node | null = null
  tail: Node | null = null
  size = 0

  pushHead(n: Node): void {
    n.prev = null
    n.next = this.head
    if (this.head) this.head.prev = n
    else this.tail = n
    this.head = n
    this.size++
  }

  unlink(n: Node): void {
    if (n.prev) n.prev.next = n.next
    else this.head = n.next
    if (n.next) n.next.prev = n.prev
    else this.tail = n.prev
    n.prev = n.next = null
    this.size--
  }

  moveToHead(n: Node): void {
    if (this.head === n) return
    this.unlink(n)
    this.pushHead(n)
  }
}

export const newNode = (e: Resident): Node => ({ e, prev: null, next: null, bits: 0 })
