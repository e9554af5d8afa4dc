import type { SimConfig } from "../config.js"

/** The eviction policies the integer fast path replays (see ./run-fast.ts for why these). */
export const FAST_IDEAL_POLICIES = ["lru", "fifo"] as const
export type FastIdealPolicy = (typeof FAST_IDEAL_POLICIES)[number]

/**
 * The fast path's policy when the run qualifies: ideal mode, no tenant shares (the fair-share
 * rule picks victims across tenants, which is ModelCache's job), and a covered policy. Anything
 * else replays through the general path (ideal.ts), whose results the fast path reproduces.
 */
export const fastIdealPolicy = (cfg: SimConfig): FastIdealPolicy | undefined => {
  if (cfg.mode !== "ideal") return undefined
  if (cfg.shares !== undefined && cfg.shares.length > 0) return undefined
  const name = typeof cfg.eviction === "string" ? cfg.eviction : cfg.eviction.name
  return (FAST_IDEAL_POLICIES as readonly string[]).includes(name) ? (name as FastIdealPolicy) : undefined
}
