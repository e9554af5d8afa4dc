/**
 * HTTP compression for the data plane, as Triton's clients use it: request bodies sent with
 * `Content-Encoding: gzip` or `deflate` (tritonclient's `request_compression_algorithm`), and
 * answers compressed when the request says `Accept-Encoding: gzip` / `deflate`
 * (`response_compression_algorithm`).
 *
 * Limits: the compressed body is read under --max-body-size like any body, and inflating stops
 * as soon as the output passes --max-body-size too (zlib's maxOutputLength), so a small "zip
 * bomb" costs at most the limit in memory and is answered 413. For the binary tensor extension
 * `Inference-Header-Content-Length` counts the uncompressed JSON header, as in Triton.
 *
 * The hit path pays one header lookup when neither header is present: the plain read and
 * answer run exactly as before.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as zlib from "node:zlib"
import { BadRequest, messageOf, PayloadTooLarge } from "../../errors.js"
import { type BodySink, type BudgetHold, readBody } from "./read-body.js"

export type Encoding = "gzip" | "deflate"

/** The request body's encoding; undefined for none/identity; BadRequest for one this server cannot read. */
export const requestEncodingOf = (req: IncomingMessage): Encoding | undefined | BadRequest => {
  const h = req.headers["content-encoding"]
  if (h === undefined) return undefined
  const v = h.trim().toLowerCase()
  if (v === "" || v === "identity") return undefined
  if (v === "gzip" || v === "x-gzip") return "gzip"
  if (v === "deflate") return "deflate"
  return new BadRequest({ message: `Content-Encoding ${JSON.stringify(h)} is not supported (use gzip or deflate)` })
}

const inflate = (enc: Encoding, body: Buffer, limit: number, done: (err: Error | null, out?: Buffer) => void): void => {
  const opts = { maxOutputLength: Math.max(1, limit) }
  if (enc === "gzip") zlib.gunzip(body, opts, done)
  // "deflate" in HTTP means the zlib format (RFC 1950); some clients send raw deflate (RFC 1951).
  else zlib.inflate(body, opts, (err, out) => (err && !isTooLarge(err) ? zlib.inflateRaw(body, opts, done) : done(err, out)))
}

const isTooLarge = (err: Error): boolean => (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError

/**
 * Read a request body, inflating it when it is compressed; the sink gets the uncompressed
 * bytes, or BadRequest (bad encoding, corrupt data) / PayloadTooLarge (either size over `limit`).
 */
export const readBodyDecoded = (req: IncomingMessage, limit: number, sink: BodySink, hold?: BudgetHold): void => {
  const encoding = requestEncodingOf(req)
  if (encoding === undefined) return readBody(req, limit, sink, hold)
  if (encoding instanceof BadRequest) {
    req.resume()
    sink.body(encoding)
    return
  }
  readBody(req, limit, {
    body: (err, body) => {
      if (err) return sink.body(err)
      inflate(encoding, body!, limit, (e, out) => {
        if (e === null) return sink.body(undefined, out!)
        if (isTooLarge(e)) {
          return sink.body(new PayloadTooLarge({ message: `request body inflates to more than the limit of ${limit} bytes (--max-body-size)` }))
        }
        sink.body(new BadRequest({ message: `request body is not valid ${encoding} data: ${messageOf(e)}` }))
      })
    }
  }, hold)
}

/** Answers smaller than this go out as they are: compressing them saves less than it costs. */
export const COMPRESS_MIN_BYTES = 1024

/** The answer encoding `Accept-Encoding` asks for (gzip first, then deflate; q=0 refuses one). */
export const acceptedEncodingOf = (header: string | string[] | undefined): Encoding | undefined => {
  if (header === undefined) return undefined
  const s = (Array.isArray(header) ? header.join(",") : header).toLowerCase()
  let gzip = false
  let deflate = false
  for (const part of s.split(",")) {
    const [token, ...params] = part.trim().split(";")
    const refused = params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p))
    if (refused) continue
    if (token === "gzip" || token === "x-gzip" || token === "*") gzip = true
    else if (token === "deflate") deflate = true
  }
  return gzip ? "gzip" : deflate ? "deflate" : undefined
}

/**
 * Send a 200 answer, compressed when the client accepts it and the body is worth it. Headers
 * other than content-length are kept (Inference-Header-Content-Length stays the uncompressed
 * header's length). Compression runs on zlib's thread pool, off the event loop.
 */
export const sendMaybeCompressed = (req: IncomingMessage, res: ServerResponse, headers: Record<string, string | number>, body: Buffer | string): void => {
  const enc = body.length >= COMPRESS_MIN_BYTES ? acceptedEncodingOf(req.headers["accept-encoding"]) : undefined
  if (enc === undefined) {
    res.writeHead(200, { ...headers, "content-length": Buffer.byteLength(body) })
    res.end(body)
    return
  }
  const done = (err: Error | null, out: Buffer): void => {
    if (res.destroyed) return
    if (err) {
      // Cannot compress (should not happen): the plain answer is still a right answer.
      res.writeHead(200, { ...headers, "content-length": Buffer.byteLength(body) })
      res.end(body)
      return
    }
    res.writeHead(200, { ...headers, "content-encoding": enc, vary: "Accept-Encoding", "content-length": out.length })
    res.end(out)
  }
  if (enc === "gzip") zlib.gzip(body, done)
  else zlib.deflate(body, done)
}
