import type { Resident } from "@meshkit/core"
import { messageOf } from "../errors.js"
import type { InstanceCore } from "./core.js"
import type { ModelEntry } from "./model-entry.js"

/**
 * Unloading a model: a victim the cache chose, an idle model a keep-alive policy expired, or an
 * unload on request. The model leaves the cache at once but its bytes stay held until the
 * runtime has let go, and a model with requests in flight unloads only after the last one.
 */
export class Unloading {
  constructor(private readonly core: InstanceCore) {}

  /** A victim chosen by the cache (already removed from it, so not serving and not loading). */
  evict(v: Resident, reason: "capacity" | "expired"): Promise<void> {
    const e = this.core.entries.get(v.id)
    const now = Date.now()
    this.core.options.metrics.evictions.labels(reason).inc()
    this.core.options.metrics.ageAtEviction.observe(Math.max(0, now - v.lastUsed) / 1000)
    this.core.options.log.info(reason === "capacity" ? "model evicted" : "model expired", { model: v.id, bytes: v.size, idleMs: now - v.lastUsed })
    if (!e || e.resident !== v) {
      // Unregistered meanwhile: its unload is already under way.
      return Promise.resolve()
    }
    return this.beginUnload(e, v.size)
  }

  /** Unload a model on request (repository unload, unregister): waits for in-flight requests. */
  async unload(e: ModelEntry): Promise<void> {
    if (e.phase === "loading") {
      try {
        await e.loading
      } catch {
        return
      }
    }
    if (e.phase === "unloading") return e.unloading
    if (e.phase !== "loaded") return
    const r = e.resident!
    this.core.cacheOf(e).remove(e.id)
    return this.beginUnload(e, r.size)
  }

  /** `e` has left the cache: hold its bytes until the runtime has really let go of it. */
  private beginUnload(e: ModelEntry, bytes: number): Promise<void> {
    const cache = this.core.cacheOf(e)
    cache.hold(bytes)
    e.phase = "unloading"
    e.resident = undefined
    const p = new Promise<void>((resolve) => {
      const go = () => {
        const loaded = e.loaded
        e.loaded = undefined
        const t0 = performance.now()
        ;(loaded ? loaded.unload() : Promise.resolve())
          .catch((err) => this.core.options.log.error("unload failed", { model: e.id, error: messageOf(err) }))
          .finally(() => {
            this.core.options.metrics.unloadDuration.observe((performance.now() - t0) / 1000)
            // before the bytes are released: the load waiting for them then finds the pages returned
            this.core.options.heap?.afterUnload()
            cache.release(bytes)
            e.phase = "idle"
            e.unloading = undefined
            this.core.options.log.debug("model unloaded", { model: e.id, bytes })
            this.core.capacity.signal()
            resolve()
          })
      }
      if (e.inFlight === 0) go()
      else e.afterDrain = go
    })
    e.unloading = p
    return p
  }

  expireIdle(): void {
    if (this.core.closing) return
    const now = Date.now()
    for (const cache of this.core.caches) for (const v of cache.expire(now)) void this.evict(v, "expired")
  }
}
