import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { readdir, readFile, rm, stat } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Either, ParseResult, Schema } from "effect"
import { BadRequest, DownloadFailed, messageOf } from "../errors.js"
import type { Log } from "../observability/log.js"
import { downloadTo, keep } from "./download.js"
import { checkUrl, confineFile, SourceRefused, type SourceRules } from "./source-rules.js"
import { batchingOf, ModelIdSchema, ModelMetadata, type ModelRecord } from "./registry.js"
import { ADMIN_TENANT } from "../tenancy/tenants-file.js"

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

const withBatching = (meta: ModelMetadata | undefined) => {
  const b = batchingOf(meta)
  return b === undefined ? {} : { batching: b }
}

const recordOf = (id: string, path: string, source: ModelRecord["source"], meta: ModelMetadata | undefined, uri = path, format = "onnx"): ModelRecord => ({
  id,
  format: meta?.format ?? format,
  uri,
  path,
  source,
  // Models the metadata gives no tenant belong to the admin (tenancy/tenants-file.ts).
  tenant: meta?.tenant ?? ADMIN_TENANT,
  labels: meta?.labels ?? {},
  pinned: meta?.pinned ?? false,
  minCopies: meta?.minCopies ?? 0,
  maxCopies: meta?.maxCopies ?? 1,
  ...withBatching(meta),
  ...(meta?.warmup !== undefined ? { warmup: meta.warmup } : {}),
  registeredAt: Date.now()
})

/**
 * XGBoost model files in a models directory (format "xgboost"): `<name>.xgb.json` (XGBoost's JSON;
 * a plain `<name>.json` is metadata) and `<name>.ubj` (its UBJSON).
 */
const XGBOOST_SUFFIXES = [".xgb.json", ".ubj"]

/**
 * Every `<name>.onnx`, `<name>/model.onnx`, `<name>.xgb.json` and `<name>.ubj` under `dir`, with
 * `<name>.json` / `<name>/meta.json`.
 */
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
    let format = "onnx"
    const xgb = ent.isFile() ? XGBOOST_SUFFIXES.find((s) => ent.name.endsWith(s) && ent.name.length > s.length) : undefined
    if (ent.isFile() && ent.name.endsWith(".onnx")) {
      id = ent.name.slice(0, -".onnx".length)
      file = join(root, ent.name)
      metaPath = join(root, `${id}.json`)
    } else if (xgb) {
      id = ent.name.slice(0, -xgb.length)
      file = join(root, ent.name)
      metaPath = join(root, `${id}.json`)
      format = "xgboost"
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
    if (seen.has(id)) throw new Error(`model "${id}" appears twice in ${root} (as two of ${id}.onnx, ${id}/model.onnx, ${XGBOOST_SUFFIXES.map((s) => id + s).join(", ")})`)
    seen.add(id)
    out.push(recordOf(id, file, "dir", await readMetadata(metaPath), file, format))
  }
  return out
}

const isUrl = (uri: string) => /^https?:\/\//i.test(uri)

/**
 * The local file for a register call's uri, under the source rules (./source-rules.ts): a file
 * inside the model roots, or an allowed URL downloaded into `cacheDir`. Size and checksum are
 * checked (and reported) only for files the rules allow.
 */
export const resolveSource = async (
  req: { readonly id: string; readonly uri: string; readonly sha256?: string; readonly sizeBytes?: number },
  cacheDir: string,
  rules: SourceRules
): Promise<string> => {
  if (isUrl(req.uri)) return download(req.uri, cacheDir, req, rules)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(req.uri) && !req.uri.startsWith("file:")) {
    throw new SourceRefused({ message: "uri scheme is not allowed (a file path, file://, http:// or https://)" })
  }
  const path = await confineFile(req.uri, rules)
  let st
  try {
    st = await stat(path)
  } catch {
    throw new BadRequest({ message: "uri: no such file under the model roots" })
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
const download = (url: string, cacheDir: string, req: { id: string; sha256?: string; sizeBytes?: number }, rules: SourceRules): Promise<string> => {
  const dest = cacheFileOf(cacheDir, req.id, url, req.sha256)
  const running = inflight.get(dest)
  if (running) return running
  const p = downloadNow(url, dest, req, rules).finally(() => inflight.delete(dest))
  inflight.set(dest, p)
  return p
}

const downloadNow = async (url: string, dest: string, req: { sha256?: string; sizeBytes?: number }, rules: SourceRules): Promise<string> => {
  const want = req.sha256?.toLowerCase()
  // The rules apply to a cached copy too: a host taken off the list is not served from the cache.
  await checkUrl(url, rules)
  try {
    const st = await stat(dest)
    const sizeOk = req.sizeBytes === undefined || st.size === req.sizeBytes
    if (sizeOk && (want === undefined || (await sha256File(dest)) === want)) return dest
  } catch {
    // not cached yet
  }
  const tmp = `${dest}.part-${process.pid}-${Date.now()}`
  const got = await downloadTo(url, tmp, rules)
  const problem =
    req.sizeBytes !== undefined && got.size !== req.sizeBytes ? `received ${got.size} bytes, expected ${req.sizeBytes}`
    : want !== undefined && got.sha256 !== want ? `sha256 is ${got.sha256}, expected ${want}`
    : undefined
  if (problem) {
    await rm(tmp, { force: true })
    throw new DownloadFailed({ message: `download ${url}: ${problem}`, mismatch: true })
  }
  await keep(tmp, dest)
  return dest
}
