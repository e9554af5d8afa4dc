/**
 * Retrying blocked models (waiting for room) when tenant shares are on. Whether a model fits
 * then depends on its tenant, so one tenant's oldest blocked model that still cannot go must not
 * hold back the others' (without shares the engine keeps one FIFO: a refusal there holds for
 * every later model). FIFO within each tenant; one pass over the list, stopping once every
 * tenant has been refused. `place(m)` places model m or returns false; the placed ones leave
 * `blocked` (kept in order), which is edited in place.
 */
export const retryPerTenant = (
  blocked: number[],
  tenantOf: Int32Array,
  tenantCount: number,
  refused: Set<number>,
  place: (m: number) => boolean
): void => {
  refused.clear()
  let keep = 0
  let i = 0
  for (; i < blocked.length; i++) {
    const m = blocked[i]!
    const tn = tenantOf[m]!
    if (refused.has(tn)) {
      blocked[keep++] = m
      continue
    }
    if (place(m)) continue
    refused.add(tn)
    blocked[keep++] = m
    if (refused.size >= tenantCount) {
      i++
      break
    }
  }
  for (; i < blocked.length; i++) blocked[keep++] = blocked[i]!
  blocked.length = keep
}
