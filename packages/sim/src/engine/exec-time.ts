import type { Rng } from "@meshkit/core"
import type { ExecTimeConfig } from "./config.js"

/** Draws execution times (ms) for requests whose trace has none; seeded, so runs repeat. */
export const execSampler = (c: ExecTimeConfig, rng: Rng): (() => number) => {
  switch (c.kind) {
    case "constant": {
      const ms = c.ms
      return () => ms
    }
    case "exponential": {
      const mean = c.meanMs
      return () => -mean * Math.log(1 - rng.next())
    }
    case "lognormal": {
      const mu = Math.log(c.medianMs)
      const sigma = c.sigma
      return () => Math.exp(mu + sigma * standardNormal(rng))
    }
  }
}

const standardNormal = (rng: Rng): number => {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const u = 1 - rng.next()
  const v = rng.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}
