import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises"
import { isAbsolute, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Either, ParseResult, Schema } from "effect"
import { BadRequest, DownloadFailed, messageOf } from "../errors.js"
import type { Log } from "../observability/log.js"
import { ModelIdSchema, ModelMetadata, type ModelRecord } from "./registry.js"

/**
 * Where model files come from: the --models directory (scanned at start) and URIs given to the
 * register API (a local path, file:// URL, or http(s) URL downloaded once into the data dir).
 */

const isValidId = Schema.is(ModelIdSchema)

const readMetadata = async (path: string): Promise<ModelMetadata | undefined> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new Error(`model metadata ${path} is not valid JSON: ${messageOf(e)}`)
  }
  const decoded = Schema.decodeUnknownEither(ModelMetadata, { onExcessProperty: "error", errors: "all" })(raw)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    const why = issues.map((i) => `${i.path.join(".") || "(root)"}: ${i._tag === "Unexpected" ? "unknown field" : i.message}`)
    throw new Error(`model metadata ${path} is invalid: ${why.join("; ")}`)
  }
  return decoded.right
}

const recordOf = (id: string, path: string, source: ModelRecord["source"], meta: ModelMetadata | undefined, uri = path): ModelRecord => ({
  id,
  format: meta?.format ?? "onnx",
  uri,
  path,
  source,
  tenant: meta?.tenant ?? "default",
  labels: meta?.labels ?? {},
  pinned: meta?.pinned ?? false,
  minCopies: meta?.minCopies ?? 0,
  maxCopies: meta?.maxCopies ?? 1,
  ...(meta?.warmup !== undefined ? { warmup: meta.warmup } : {}),
  registeredAt: Date.now()
})

/** Every `<name>.onnx` and `<name>/model.onnx` under `dir`, with `<name>.json` / `<name>/meta.json`. */
export const scanModelsDir = async (dir: string, log: Log): Promise<ModelRecord[]> => {
  const root = resolve(dir)
  let entries
  try {
    entries = await readdir(root, { withFileTypes: true })
  } catch (e) {
    throw new Error(`cannot read models directory ${root}: ${messageOf(e)}`)
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const out: ModelRecord[] = []
  const seen = new Set<string>()
  for (const ent of entries) {
    let id: string
    let file: string
    let metaPath: string
    if (ent.isFile() && ent.name.endsWith(".onnx")) {
      id = ent.name.slice(0, -".onnx".length)
      file = join(root, ent.name)
      metaPath = join(root, `${id}.json`)
    } else if (ent.isDirectory()) {
      id = ent.name
      file = join(root, id, "model.onnx")
      metaPath = join(root, id, "meta.json")
      try {
        if (!(await stat(file)).isFile()) continue
      } catch {
        continue
      }
    } else {
      continue
    }
    if (!isValidId(id)) {
      log.warn("skipping model with an unusable name", { file, reason: "names are letters, digits, '.', '_', '-'" })
      continue
    }
    if (seen.has(id)) throw new Error(`model "${id}" appears twice in ${root} (as ${id}.onnx and ${id}/model.onnx)`)
    seen.add(id)
    out.push(recordOf(id, file, "dir", await readMetadata(metaPath)))
  }
  return out
}

const isUrl = (uri: string) => /^https?:\/\//i.test(uri)

/** The local file for a register call's uri (downloading http(s) URLs into `cacheDir`). */
export const resolveSource = async (
  req: { readonly id: string; readonly uri: string; readonly sha256?: string; readonly sizeBytes?: number },
  cacheDir: string,
  timeoutMs: number
): Promise<string> => {
  if (isUrl(req.uri)) return download(req.uri, cacheDir, req, timeoutMs)
  let path: string
  try {
    path = req.uri.startsWith("file:") ? fileURLToPath(req.uri) : req.uri
  } catch (e) {
    throw new BadRequest({ message: `uri ${req.uri} is not a usable file URL: ${messageOf(e)}` })
  }
  if (!isAbsolute(path)) path = resolve(path)
  let st
  try {
    st = await stat(path)
  } catch {
    throw new BadRequest({ message: `uri ${req.uri}: no such file` })
  }
  if (!st.isFile()) throw new BadRequest({ message: `uri ${req.uri} is not a file` })
  if (req.sizeBytes !== undefined && st.size !== req.sizeBytes) {
    throw new BadRequest({ message: `uri ${req.uri} has ${st.size} bytes, expected ${req.sizeBytes}` })
  }
  if (req.sha256 !== undefined) {
    const got = await sha256File(path)
    if (got !== req.sha256.toLowerCase()) throw new BadRequest({ message: `uri ${req.uri} has sha256 ${got}, expected ${req.sha256.toLowerCase()}` })
  }
  return path
}

const sha256File = (path: string): Promise<string> =>
  new Promise((res, rej) => {
    const h = createHash("sha256")
    createReadStream(path)
      .on("data", (c) => h.update(c))
      .on("error", rej)
      .on("end", () => res(h.digest("hex")))
  })

/** Cache file name: one per (url, expected checksum), so a changed checksum fetches again. */
const cacheFileOf = (cacheDir: string, id: string, url: string, sha256?: string) =>
  join(cacheDir, `${id}-${createHash("sha256").update(`${url}\n${sha256 ?? ""}`).digest("hex").slice(0, 16)}.onnx`)

const inflight = new Map<string, Promise<string>>()

/** Download once (concurrent calls for the same file share one transfer), verify, keep. */
const download = (url: string, cacheDir: string, req: { id: string; sha256?: string; sizeBytes?: number }, timeoutMs: number): Promise<string> => {
  const dest = cacheFileOf(cacheDir, req.id, url, req.sha256)
  const running = inflight.get(dest)
  if (running) return running
  const p = downloadNow(url, dest, req, timeoutMs).finally(() => inflight.delete(dest))
  inflight.set(dest, p)
  return p
}

const downloadNow = async (url: string, dest: string, req: { sha256?: string; sizeBytes?: number }, timeoutMs: number): Promise<string> => {
  const want = req.sha256?.toLowerCase()
  try {
    const st = await stat(dest)
    const sizeOk = req.sizeBytes === undefined || st.size === req.sizeBytes
    if (sizeOk && (want === undefined || (await sha256File(dest)) === want)) return dest
  } catch {
    // not cached yet
  }
  await mkdir(join(dest, ".."), { recursive: true })
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" })
  } catch (e) {
    const why = (e as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : ((e as Error).cause as Error)?.message ?? (e as Error).message
    throw new DownloadFailed({ message: `download ${url} failed: ${why}`, mismatch: false })
  }
  if (!res.ok || res.body === null) {
    throw new DownloadFailed({ message: `download ${url} failed: HTTP ${res.status} ${res.statusText}`, mismatch: false })
  }
  const announced = res.headers.get("content-length")
  const tmp = `${dest}.part-${process.pid}-${Date.now()}`
  const h = createHash("sha256")
  let size = 0
  const fh = await open(tmp, "w")
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk)
      size += chunk.byteLength
      await fh.write(chunk)
    }
    await fh.sync()
  } catch (e) {
    await fh.close()
    await rm(tmp, { force: true })
    throw new DownloadFailed({ message: `download ${url} failed while reading: ${messageOf(e)}`, mismatch: false })
  }
  await fh.close()
  const got = h.digest("hex")
  const problem =
    announced !== null && Number(announced) !== size ? `received ${size} bytes, the server announced ${announced}`
    : req.sizeBytes !== undefined && size !== req.sizeBytes ? `received ${size} bytes, expected ${req.sizeBytes}`
    : want !== undefined && got !== want ? `sha256 is ${got}, expected ${want}`
    : undefined
  if (problem) {
    await rm(tmp, { force: true })
    throw new DownloadFailed({ message: `download ${url}: ${problem}`, mismatch: true })
  }
  await rename(tmp, dest)
  return dest
}
