import type { IncomingMessage } from "node:http"
import { BadRequest, Overloaded, PayloadTooLarge } from "../../errors.js"

/** Gets a request body, or why there is none. An object rather than a callback: a request's state object can be its own sink. */
export interface BodySink {
  body(err: BadRequest | PayloadTooLarge | Overloaded | undefined, body?: Buffer): void
}

/**
 * Bytes of request bodies being read and decoded at once, all requests together
 * (--decode-budget). A body holds its share from its first byte until its answer is sent: the
 * raw bytes, the decoded JSON and the tensors live that long. Beyond the budget a request gets
 * 429 (retry shortly), and a body larger than the whole budget 413 (it can never fit).
 */
export class DecodeBudget {
  used = 0
  constructor(readonly capacity: number) {}
  take(n: number): boolean {
    if (this.used + n > this.capacity) return false
    this.used += n
    return true
  }
  give(n: number): void {
    this.used -= n
  }
}

/** Where a budgeted body's bytes are given back: its response, once it has closed. */
export interface BudgetHold {
  readonly budget: DecodeBudget
  readonly until: { once(event: "close", listener: () => void): unknown }
}

/**
 * Collect a request body up to `limit` bytes. Over the limit the rest is drained unread and the
 * sink gets PayloadTooLarge (413) — the server never buffers more than it allows.
 * Callback style, not a Promise: this sits on the hit path.
 */
export const readBody = (req: IncomingMessage, limit: number, sink: BodySink, hold?: BudgetHold): void => {
  const announced = req.headers["content-length"]
  if (announced !== undefined && Number(announced) > limit) {
    req.resume()
    sink.body(tooLarge(Number(announced), limit))
    return
  }
  let held = 0
  if (hold !== undefined) {
    hold.until.once("close", () => hold.budget.give(held))
    if (announced !== undefined) {
      const n = Number(announced)
      if (n > hold.budget.capacity) {
        req.resume()
        sink.body(overBudget(n, hold.budget.capacity))
        return
      }
      if (!hold.budget.take(n)) {
        req.resume()
        sink.body(budgetBusy())
        return
      }
      held = n
    }
  }
  let first: Buffer | undefined
  let chunks: Buffer[] | undefined
  let size = 0
  let failed = false
  req.on("data", (c: Buffer) => {
    if (failed) return
    size += c.length
    if (size > limit) {
      failed = true
      first = undefined
      chunks = undefined
      sink.body(tooLarge(size, limit))
      return
    }
    // A body without content-length takes its share as it arrives.
    if (hold !== undefined && size > held) {
      if (size > hold.budget.capacity || !hold.budget.take(size - held)) {
        failed = true
        first = undefined
        chunks = undefined
        sink.body(size > hold.budget.capacity ? overBudget(size, hold.budget.capacity) : budgetBusy())
        return
      }
      held = size
    }
    if (first === undefined) first = c
    else (chunks ??= [first]).push(c)
  })
  req.on("end", () => {
    if (failed) return
    sink.body(undefined, chunks ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)))
  })
  req.on("error", (err) => {
    if (failed) return
    failed = true
    sink.body(new BadRequest({ message: `could not read the request body: ${err.message}` }))
  })
}

const tooLarge = (size: number, limit: number) =>
  new PayloadTooLarge({ message: `request body of ${size} bytes or more exceeds the limit of ${limit} bytes (--max-body-size)` })

const overBudget = (size: number, capacity: number) =>
  new PayloadTooLarge({ message: `request body of ${size} bytes or more is larger than the whole decode budget of ${capacity} bytes (--decode-budget)` })

const budgetBusy = () =>
  new Overloaded({ message: "too many request bytes are being decoded at once (--decode-budget); retry shortly" })
