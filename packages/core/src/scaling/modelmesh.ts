import { Schema } from "effect"
import type { ModelLoadStats } from "../domain.js"
import { definePolicy } from "../registry.js"
import type { ScalingPolicy } from "./policy.js"

const positiveMs = (fallback: number, description: string) =>
  Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => fallback }).annotations({ description, default: fallback })

export const ModelMeshScalingOptions = Schema.Struct({
  rpmPerCopy: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 2000 }).annotations({
    description: "requests per minute one copy is expected to carry: a model in use wants ceil(rpm / rpmPerCopy) copies",
    default: 2000
  }),
  intervalMs: positiveMs(10_000, "how often the caller re-evaluates every model"),
  idleMs: positiveMs(600_000, "a model not used for this long is idle and loses its extra copies"),
  activeMs: positiveMs(60_000, "a model used within this long counts as used now (for the steady-use rule)"),
  steadyAfterMs: positiveMs(420_000, "used now and already in use at least this long ago = steady use, which earns a second copy"),
  minFreeFraction: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.1 }).annotations({
    description: "the steady-use second copy is added only while at least this fraction of the cluster is free",
    default: 0.1
  }),
  unloadIdle: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description:
      "false (ModelMesh): an idle model keeps one copy and eviction decides when it goes; true: an idle model drops to minCopies, which may be 0 (a keep-alive TTL)",
    default: false
  })
})
export type ModelMeshScalingOptions = typeof ModelMeshScalingOptions.Type

/**
 * ModelMesh's copy scaling, with its second-copy rule made to work.
 *  - Rate: a model in use wants k = ceil(rpm / rpmPerCopy) copies (at least 1).
 *  - Steady use: used now (within activeMs) and already in use at least steadyAfterMs ago, with
 *    ≥ minFreeFraction of the cluster free → at least 2 copies. ModelMesh (kserve/modelmesh#151)
 *    read both facts from the single lastUsed timestamp, which a steadily used model keeps
 *    refreshing, so the "used 7–40 min ago" half never held; here they come from two separate
 *    fields (lastUsed and firstUsedInWindow), and there is no upper age limit that a model in
 *    continuous use would outgrow.
 *  - Idleness: only a model unused for idleMs scales down — to one copy, or to minCopies with
 *    unloadIdle. While a model is in use its copies are never reduced (as in ModelMesh), so a
 *    burst does not make copies flap in and out with every window.
 * The answer always lies in [minCopies, maxCopies]; the caller adds or removes copies towards it.
 */
export const modelmeshScaling = (o: ModelMeshScalingOptions): ScalingPolicy => ({
  name: "modelmesh",
  intervalMs: o.intervalMs,
  desiredCopies(s: ModelLoadStats, now: number): number {
    const lo = Math.max(0, s.minCopies)
    const hi = Math.max(lo, s.maxCopies)
    const sinceUse = now - s.lastUsed
    let want: number
    if (!(sinceUse <= o.idleMs)) {
      want = o.unloadIdle ? 0 : Math.min(s.copies, 1)
    } else {
      const rpm = s.rpm > 0 ? s.rpm : 0
      want = Math.max(1, s.copies, Math.ceil(rpm / o.rpmPerCopy))
      const steady =
        sinceUse <= o.activeMs && Number.isFinite(s.firstUsedInWindow) && now - s.firstUsedInWindow >= o.steadyAfterMs
      if (steady && s.clusterFreeFraction >= o.minFreeFraction && want < 2) want = 2
    }
    return want < lo ? lo : want > hi ? hi : want
  }
})

export const modelmeshScalingPolicy = definePolicy({
  name: "modelmesh",
  family: "scaling",
  description:
    "ModelMesh copy scaling: ceil(rpm / rpmPerCopy) copies; a 2nd copy for steady use when ≥ 10 % is free (its #151 fixed); idle models lose extra copies.",
  options: ModelMeshScalingOptions,
  make: (o) => modelmeshScaling(o)
})
