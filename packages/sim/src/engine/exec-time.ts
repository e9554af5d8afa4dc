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
      const normal = standardNormals(rng)
      return () => Math.exp(mu + sigma * normal())
    }
  }
}

/** Box-Muller, using both values of each pair; 1 - u keeps the log argument in (0, 1]. */
const standardNormals = (rng: Rng): (() => number) => {
  let spare = NaN
  return () => {
    if (spare === spare) {
      const z = spare
      spare = NaN
      return z
    }
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()))
    const a = 2 * Math.PI * rng.next()
    spare = r * Math.sin(a)
    return r * Math.cos(a)
  }
}
