/** A counting semaphore: at most `limit` holders; the rest wait in arrival order. */
export class Semaphore {
  private held = 0
  private readonly waiters: Array<() => void> = []
  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.held >= this.limit) await new Promise<void>((r) => this.waiters.push(r))
    else this.held++
    let done = false
    return () => {
      if (done) return
      done = true
      const next = this.waiters.shift()
      if (next) next()
      else this.held--
    }
  }
}
