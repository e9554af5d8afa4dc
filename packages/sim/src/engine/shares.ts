import { validateShares, type TenantShares } from "@meshkit/core"
import type { TenantShareConfig } from "./config.js"

/**
 * The ModelCache shares of one instance of `capacityBytes`: fractions become whole bytes of it.
 * Undefined without shares, so the cache runs its plain path. Throws a RangeError (naming the
 * tenant) when the shares do not fit the capacity.
 */
export const sharesFor = (shares: ReadonlyArray<TenantShareConfig> | undefined, capacityBytes: number): TenantShares | undefined => {
  if (shares === undefined || shares.length === 0) return undefined
  const map = new Map<string, number>()
  for (const s of shares) map.set(s.id, s.bytes ?? Math.floor((s.fraction ?? 0) * capacityBytes))
  validateShares(map, capacityBytes)
  return map
}
