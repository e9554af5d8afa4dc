import type { Rng } from "@meshkit/core"
import type { ExecTimeConfig } from "./config.js"

/** samples drawn per refill */
const BATCH = 1024

/**
 * Draws execution times (ms) for requests whose trace has none; seeded, so runs repeat.
 *
 * Samples are drawn a batch at a time into a typed array and handed out in order. The stream
 * is the one a draw per request would give (its generator serves nothing else, so drawing
 * ahead changes no other number), but a double kept in a closure variable, as the one-at-a-time
 * Box-Muller kept its spare, is a heap allocation per write: this way the hot loop reads a
 * Float64Array and allocates nothing (measured: ~150-200 ns a sample before, a few ns after).
 */
export class ExecSampler {
  private readonly buf = new Float64Array(BATCH)
  private at = BATCH
  private readonly fill: (buf: Float64Array) => void

  constructor(c: ExecTimeConfig, rng: Rng) {
    this.fill = filler(c, rng)
  }

  next(): number {
    if (this.at === BATCH) {
      this.fill(this.buf)
      this.at = 0
    }
    return this.buf[this.at++]!
  }
}

const filler = (c: ExecTimeConfig, rng: Rng): ((buf: Float64Array) => void) => {
  switch (c.kind) {
    case "constant": {
      const ms = c.ms
      return (buf) => buf.fill(ms)
    }
    case "exponential": {
      const mean = c.meanMs
      return (buf) => {
        for (let i = 0; i < buf.length; i++) buf[i] = -mean * Math.log(1 - rng.next())
      }
    }
    case "lognormal": {
      const mu = Math.log(c.medianMs)
      const sigma = c.sigma
      // Box-Muller, using both values of each pair (cos first); 1 - u keeps the log argument in
      // (0, 1]. BATCH is even, so a pair never straddles two batches.
      return (buf) => {
        for (let i = 0; i < buf.length; i += 2) {
          const r = Math.sqrt(-2 * Math.log(1 - rng.next()))
          const a = 2 * Math.PI * rng.next()
          buf[i] = Math.exp(mu + sigma * (r * Math.cos(a)))
          buf[i + 1] = Math.exp(mu + sigma * (r * Math.sin(a)))
        }
      }
    }
  }
}
