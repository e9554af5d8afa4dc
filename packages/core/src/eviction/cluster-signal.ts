import type { ModelId, TenantId } from "../domain.js"

/** one cluster-wide request, as every listener is told it */
export type ClusterListener = (id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number) => void

/**
 * What a cluster tells its instances' eviction policies about the traffic as a whole: every
 * request the cluster receives (not only those routed to one instance), and a place for state
 * the instances' policies share (one object per key). An instance's own request stream is biased
 * by routing (it is sent requests for the models it holds), so a policy that learns from the
 * traffic (meshkit-adaptive) scores its choices on this stream instead when it has one.
 *
 * The simulator's full mode builds one per run (BuildContext.cluster) and calls `request` on
 * every arrival, before routing. A standalone server gives each cache's policy one, one instance
 * wide, fed every request it receives (all the traffic there is); an instance of a cluster sees
 * only what is routed to it and gets none (the cluster's stream is not shared yet). Without listeners `request` is never called (`listening`).
 */
export class ClusterSignal {
  private readonly listeners: ClusterListener[] = []
  private readonly state = new Map<string, unknown>()

  /**
   * @param instances the cluster's instances
   * @param capacityBytes one instance's cache capacity (the cluster holds instances × that)
   */
  constructor(
    readonly instances: number,
    readonly capacityBytes: number
  ) {
    if (!(instances >= 1) || !(capacityBytes > 0)) throw new RangeError(`ClusterSignal needs instances ≥ 1 and a capacity > 0, got ${instances} and ${capacityBytes}`)
  }

  /** whether anyone listens (the caller skips `request` otherwise) */
  get listening(): boolean {
    return this.listeners.length > 0
  }

  listen(fn: ClusterListener): void {
    this.listeners.push(fn)
  }

  /** the cluster received a request for `id` at `now` */
  request(id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number): void {
    const ls = this.listeners
    for (let i = 0; i < ls.length; i++) ls[i]!(id, tenant, size, loadCostMs, now)
  }

  /** the object stored under `key`, made by `make` the first time (shared by every instance) */
  shared<T>(key: string, make: () => T): T {
    if (this.state.has(key)) return this.state.get(key) as T
    const v = make()
    this.state.set(key, v)
    return v
  }
}
