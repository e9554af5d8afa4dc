import type { IncomingMessage } from "node:http"
import { BadRequest, PayloadTooLarge } from "../../errors.js"

/** Gets a request body, or why there is none. An object rather than a callback: a request's state object can be its own sink. */
export interface BodySink {
  body(err: BadRequest | PayloadTooLarge | undefined, body?: Buffer): void
}

/**
 * Collect a request body up to `limit` bytes. Over the limit the rest is drained unread and the
 * sink gets PayloadTooLarge (413) — the server never buffers more than it allows.
 * Callback style, not a Promise: this sits on the hit path.
 */
export const readBody = (req: IncomingMessage, limit: number, sink: BodySink): void => {
  const announced = req.headers["content-length"]
  if (announced !== undefined && Number(announced) > limit) {
    req.resume()
    sink.body(tooLarge(Number(announced), limit))
    return
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
