import type { Section } from "@meshkit/report"
import type { Figure } from "./figures.js"

/** The benchmark is made of independent parts; each contributes figures and a report section. */
export const PARTS = ["policy", "sim", "hit", "cold", "density", "churn", "cluster", "trees", "batching", "replay-speed"] as const
export type PartName = (typeof PARTS)[number]
/** what runs without --only: cluster (minutes, load-sensitive ms figures), trees (needs Debian's python3-xgboost), batching and replay-speed (a 20 M-request trace, libCacheSim for its reference) only on request */
export const DEFAULT_PARTS: ReadonlyArray<PartName> = ["policy", "sim", "hit", "cold", "density", "churn"]

export interface PartContext {
  readonly quick: boolean
  /** a scratch directory for models and server data, removed at the end */
  readonly workDir: string
  /** one progress line on stderr */
  readonly progress: (line: string) => void
  /** replay-speed: libCacheSim's cachesim binary to compare against (--cachesim) */
  readonly cachesim?: string
}

export interface PartResult {
  readonly figures: ReadonlyArray<Figure>
  readonly notes: ReadonlyArray<string>
  readonly sections: ReadonlyArray<Section>
}

export type Part = (ctx: PartContext) => Promise<PartResult>
