import { createHash } from "node:crypto"
import { createWriteStream } from "node:fs"
import { mkdir, readdir, rename, rm } from "node:fs/promises"
import { request as httpRequest, type IncomingMessage } from "node:http"
import { request as httpsRequest } from "node:https"
import type { LookupFunction } from "node:net"
import { dirname, join } from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { DownloadFailed, messageOf } from "../errors.js"
import { checkUrl, hostOf, SourceRefused, type CheckedUrl, type SourceRules } from "./source-rules.js"

/**
 * One URL download into a file, under the source rules: node:http(s) piped into a file stream
 * (fetch's undici 7.30 asserts `!this.paused` under file-write backpressure and takes the
 * process down, undici#5360), redirects followed here so each hop is checked again (same host
 * only, its address re-resolved and re-checked), the connection pinned to the checked address,
 * a byte cap and one deadline for the whole transfer.
 */

const MAX_REDIRECTS = 5

export interface Downloaded {
  readonly size: number
  readonly sha256: string
}

/** Download `url` to `tmp` (created; removed on failure). Throws DownloadFailed or SourceRefused. */
export const downloadTo = async (url: string, tmp: string, rules: SourceRules): Promise<Downloaded> => {
  await mkdir(dirname(tmp), { recursive: true })
  const deadline = AbortSignal.timeout(rules.timeoutMs)
  const failed = (why: string, mismatch = false) => new DownloadFailed({ message: `download ${url} failed: ${why}`, mismatch })
  let target = await checkUrl(url, rules)
  const firstHost = hostOf(target.url)
  for (let hop = 0; ; hop++) {
    const res = await get(target, deadline).catch((e: unknown) => {
      throw deadline.aborted ? failed(`timed out after ${rules.timeoutMs} ms`) : failed(messageOf(e))
    })
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume()
      if (hop >= MAX_REDIRECTS) throw failed(`more than ${MAX_REDIRECTS} redirects`)
      let next: URL
      try {
        next = new URL(res.headers.location, target.url)
      } catch {
        throw failed("redirect to an invalid URL")
      }
      if (hostOf(next) !== firstHost) throw new SourceRefused({ message: `download ${url}: redirect to another host (${hostOf(next)}) is not allowed` })
      target = await checkUrl(next, rules)
      continue
    }
    if (status < 200 || status >= 300) {
      res.resume()
      throw failed(`HTTP ${status} ${res.statusMessage ?? ""}`.trim())
    }
    const announced = res.headers["content-length"]
    if (announced !== undefined && Number(announced) > rules.maxDownloadBytes) {
      res.destroy()
      throw new SourceRefused({ message: `download ${url}: the file is larger than --max-download-size (${rules.maxDownloadBytes} bytes)` })
    }
    const h = createHash("sha256")
    let size = 0
    let overCap = false
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length
        if (size > rules.maxDownloadBytes) {
          overCap = true
          cb(new Error("over the size cap"))
          return
        }
        h.update(chunk)
        cb(null, chunk)
      }
    })
    try {
      await pipeline(res, meter, createWriteStream(tmp, { flags: "w", flush: true }), { signal: deadline })
    } catch (e) {
      await rm(tmp, { force: true })
      if (overCap) throw new SourceRefused({ message: `download ${url}: the file is larger than --max-download-size (${rules.maxDownloadBytes} bytes)` })
      throw deadline.aborted ? failed(`timed out after ${rules.timeoutMs} ms`) : failed(`while reading: ${messageOf(e)}`)
    }
    if (announced !== undefined && Number(announced) !== size) {
      await rm(tmp, { force: true })
      throw failed(`received ${size} bytes, the server announced ${announced}`, true)
    }
    return { size, sha256: h.digest("hex") }
  }
}

/** One GET to the checked address (the Host header and TLS name stay the URL's). */
const get = (t: CheckedUrl, signal: AbortSignal): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const pinned: LookupFunction = (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: t.address, family: t.family }])
      else cb(null, t.address, t.family)
    }
    const make = t.url.protocol === "https:" ? httpsRequest : httpRequest
    const req = make(t.url, { method: "GET", lookup: pinned, signal, headers: { "accept-encoding": "identity" } }, resolve)
    req.on("error", reject)
    req.end()
  })

/** Remove downloads a killed process left half-written (`<file>.part-<pid>-<time>`). */
export const cleanPartialDownloads = async (dir: string): Promise<number> => {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const n of names) {
    const m = /\.part-(\d+)-\d+$/.exec(n)
    if (!m || alive(Number(m[1]))) continue
    await rm(join(dir, n), { force: true })
    removed++
  }
  return removed
}

/** Another live process (sharing the data dir) may still be writing its part file. */
const alive = (pid: number): boolean => {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Move a finished download into place. */
export const keep = (tmp: string, dest: string) => rename(tmp, dest)
