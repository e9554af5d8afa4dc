import { connect, type Socket } from "node:net"

/** Test support for the hardening tests: raw sockets, for requests fetch cannot send. */

export const hostPort = (url: string) => {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port) }
}

export const openSocket = (url: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(hostPort(url))
    s.once("connect", () => resolve(s))
    s.once("error", reject)
  })

/** Resolves with the ms until the server closed `s` (or `limitMs` if it did not). */
export const closedWithin = (s: Socket, limitMs: number): Promise<number> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const t = setTimeout(() => {
      s.destroy()
      resolve(limitMs)
    }, limitMs)
    s.on("data", () => {})
    s.on("error", () => {})
    s.once("close", () => {
      clearTimeout(t)
      resolve(Date.now() - t0)
    })
  })

/** Send raw bytes, read the whole answer until the server ends it (or `limitMs`). */
export const rawRequest = (url: string, bytes: Buffer | string, limitMs = 20_000): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = connect(hostPort(url))
    let out = ""
    const t = setTimeout(() => {
      s.destroy()
      reject(new Error(`no complete answer in ${limitMs} ms; got: ${out.slice(0, 300)}`))
    }, limitMs)
    s.on("data", (c) => (out += c.toString("latin1")))
    s.on("error", () => {})
    s.once("close", () => {
      clearTimeout(t)
      resolve(out)
    })
    s.end(bytes)
  })

/** The status code of a raw HTTP answer. */
export const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)

/** `depth` nested arrays around `inner`. */
export const nestedArrays = (depth: number, inner = "1") => "[".repeat(depth) + inner + "]".repeat(depth)
