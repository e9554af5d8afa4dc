/**
 * The simulator's admission step for core's `Placer`: the chosen instance's ModelCache admits
 * the model (evicting by its policy) or refuses it. A refusal for lack of evictable room is
 * remembered on the instance (`noRoomFor`), so until something there goes idle later placements
 * of models at least that large skip it without asking its cache again. With tenant shares a
 * refusal says nothing about other tenants (nor about the same tenant once others have grown
 * past their shares), so it is not remembered then.
 *
 * An admission that would have to free more than the instance's idle residents hold
 * (Instance.idleBytes: loaded, nothing in flight) is refused without asking the cache: no
 * policy can free more than that. For policies whose victim search has no side effects on a
 * refusal (lru, fifo, lfu, gdsf, ttl, hybrid-histogram: checked on every shipped scenario) the
 * results are those of asking; policies that change state while they look (SIEVE clears
 * visited bits, S3-FIFO moves entries between its queues, meshkit-adaptive through its experts)
 * are no longer disturbed by a probe that evicts nothing, so their figures moved slightly
 * (issue 12's report).
 */
import type { AdmitRequest, AdmitResult, Admission, InstanceViewState, ModelSpec } from "@meshkit/core"
import type { Instance } from "./instance.js"
import type { ShortcutCheck } from "./run-options.js"

export class CacheAdmission implements Admission<InstanceViewState> {
  /** what to admit, refilled before each placement (the cache does not keep it) */
  private readonly request: { -readonly [K in keyof AdmitRequest]-?: AdmitRequest[K] } = {
    id: "",
    tenant: "",
    size: 0,
    loadCostMs: 0,
    pinned: false,
    nextUse: Infinity,
    key: 0
  }
  /** after a successful placement: the instance's cache answer and its memory use before it */
  result: Extract<AdmitResult, { ok: true }> | undefined = undefined
  usedBefore = 0

  constructor(
    private readonly instances: readonly Instance[],
    private readonly remembersRefusals = true,
    /** tests: ask the cache even when it must refuse, and check that it does (RunOptions.checkShortcuts) */
    private readonly check?: ShortcutCheck
  ) {}

  /** what the next placement admits: model `m` of the run's model index */
  prepare(model: ModelSpec, m: number, nextUse: number): void {
    const a = this.request
    a.key = m
    a.id = model.id
    a.tenant = model.tenant
    a.size = model.sizeBytes
    a.loadCostMs = model.loadCostMs
    a.nextUse = nextUse
  }

  admit(view: InstanceViewState, now: number): boolean {
    const inst = this.instances[view.index]!
    const size = this.request.size
    // More than the idle residents would have to go: the cache must refuse, so it is not asked
    // (a refused admission walks every resident; on the Azure trace's minute boundaries most are
    // refused). The policy is not probed either: an admission that cannot succeed does nothing.
    const mustRefuse = !inst.couldAdmit(size)
    if (mustRefuse && this.check === undefined) return this.refuse(inst, size)
    const before = inst.cache.used
    const r = inst.cache.admit(this.request, now)
    if (!r.ok) {
      if (mustRefuse) this.check!.refusals++
      return this.refuse(inst, size)
    }
    if (mustRefuse) throw new Error(`internal: ${this.request.id} was admitted beyond the idle bytes of ${inst.id}`)
    this.result = r
    this.usedBefore = before
    return true
  }

  /** a refusal for lack of room: remembered on the instance (see the module comment) */
  refuse(inst: Instance, size: number): false {
    if (this.remembersRefusals && size < inst.noRoomFor) inst.noRoomFor = size
    return false
  }
}
