/**
 * The local copy of one etcd prefix, fed by a watch and read synchronously by the hit path and
 * routing (they never wait on etcd). Plain code: a Map keyed by id with each row's revision.
 *
 * Updates are applied by revision, so a snapshot taken during a reconnect and the watch events
 * around it can arrive in any order: an older value never overwrites a newer one, and a delete
 * seen before a snapshot that still has the key (read just before the delete) keeps it deleted.
 */
import type { KvEntry, Snapshot, WatchHandler } from "./kv-store.js"

interface Row<T> {
  readonly value: T
  readonly modRevision: number
}

/** Deletes are remembered only to order them against a late snapshot: keep the most recent few. */
const MAX_TOMBSTONES = 10_000

export class LocalTable<T> implements WatchHandler {
  private readonly rows = new Map<string, Row<T>>()
  private readonly tombstones = new Map<string, number>()
  private listeners: Array<(id: string, value: T | undefined) => void> = []
  private live = false
  private resets = 0

  constructor(
    private readonly prefix: string,
    private readonly decode: (text: string) => T | undefined
  ) {}

  get(id: string): T | undefined {
    return this.rows.get(id)?.value
  }
  revisionOf(id: string): number {
    return this.rows.get(id)?.modRevision ?? 0
  }
  has(id: string): boolean {
    return this.rows.has(id)
  }
  get size(): number {
    return this.rows.size
  }
  ids(): IterableIterator<string> {
    return this.rows.keys()
  }
  *values(): IterableIterator<T> {
    for (const r of this.rows.values()) yield r.value
  }
  /** false while the watch is broken: the copy is still served, but may be stale */
  get connected(): boolean {
    return this.live
  }
  /** how many snapshots were applied (start + one per reconnect) */
  get resetCount(): number {
    return this.resets
  }

  /** called with (id, new value or undefined when gone) after every change */
  onChange(listener: (id: string, value: T | undefined) => void): () => void {
    this.listeners.push(listener)
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  readonly reset = (snapshot: Snapshot): void => {
    const seen = new Set<string>()
    for (const e of snapshot.entries) {
      const id = this.idOf(e.key)
      if (id === undefined) continue
      seen.add(id)
      this.apply(id, e)
    }
    for (const [id, row] of [...this.rows]) {
      if (!seen.has(id) && row.modRevision <= snapshot.revision) this.remove(id, snapshot.revision)
    }
    for (const [id, rev] of [...this.tombstones]) if (rev <= snapshot.revision) this.tombstones.delete(id)
    this.live = true
    this.resets++
  }

  readonly put = (e: KvEntry): void => {
    const id = this.idOf(e.key)
    if (id !== undefined) this.apply(id, e)
  }

  readonly delete = (key: string, revision: number): void => {
    const id = this.idOf(key)
    if (id !== undefined) this.remove(id, revision)
  }

  readonly disconnected = (): void => {
    this.live = false
  }

  private idOf(key: string): string | undefined {
    return key.startsWith(this.prefix) ? key.slice(this.prefix.length) : undefined
  }

  private apply(id: string, e: KvEntry): void {
    const row = this.rows.get(id)
    if (row && row.modRevision >= e.modRevision) return
    const dead = this.tombstones.get(id)
    if (dead !== undefined && dead >= e.modRevision) return
    this.tombstones.delete(id)
    const value = this.decode(e.value)
    if (value === undefined) {
      // Not a record we understand: do not keep serving the older value as if it were current.
      if (row) this.remove(id, e.modRevision)
      return
    }
    this.rows.set(id, { value, modRevision: e.modRevision })
    for (const l of this.listeners) l(id, value)
  }

  private remove(id: string, revision: number): void {
    const row = this.rows.get(id)
    if (row && row.modRevision > revision) return
    const prev = this.tombstones.get(id) ?? 0
    this.tombstones.delete(id) // re-insert: Map order is the eviction order
    this.tombstones.set(id, Math.max(revision, prev))
    if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!)
    if (!row) return
    this.rows.delete(id)
    for (const l of this.listeners) l(id, undefined)
  }
}
