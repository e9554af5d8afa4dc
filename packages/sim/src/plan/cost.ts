import type { Cost } from "../scenario/schema.js"

const GiB = 1024 ** 3

/**
 * What the planner minimises. Without a `cost:` field in the scenario it is the cluster's total
 * memory (instances × memory per instance, bytes); with one, a price per hour:
 * instances × (perInstanceHour + memory GiB × perGiBHour). Both grow with memory per instance,
 * which is what lets the search cap each bisection at the cheapest configuration found so far.
 */
export interface CostModel {
  /** "total memory" or "cost per hour" */
  readonly name: string
  readonly of: (instances: number, memoryPerInstanceBytes: number) => number
  readonly format: (cost: number) => string
  /** true when the scenario gave prices (the JSON then carries `cost` too) */
  readonly priced: boolean
}

export const costModel = (cost: Cost | undefined): CostModel => {
  if (cost === undefined) {
    return { name: "total memory", of: (n, m) => n * m, format: gibText, priced: false }
  }
  const { perGiBHour, perInstanceHour, currency } = cost
  return {
    name: "cost per hour",
    of: (n, m) => n * (perInstanceHour + (m / GiB) * perGiBHour),
    format: (c) => `${currency}${c.toFixed(c >= 100 ? 0 : c >= 1 ? 2 : 4)}/h`,
    priced: true
  }
}

const gibText = (bytes: number): string => `${+(bytes / GiB).toFixed(2)} GiB`
