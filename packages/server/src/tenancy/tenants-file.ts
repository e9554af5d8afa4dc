/**
 * The tenants file (`--tenants FILE`, YAML or JSON): who may call the server and with what
 * limits. Only digests of tokens are written there (`echo -n TOKEN | sha256sum`), so the file
 * can be read by operators without leaking a credential, and nothing here ever holds a token.
 *
 *   admin: { tokenSha256: "<hex>" }        # or tokens: [<hex>, <hex>] while rotating
 *   peer: { tokenSha256: "<hex>" }         # optional: what cluster peers present (else the admin's)
 *   tenants:
 *     - id: acme
 *       tokenSha256: "<hex>"
 *       memory: 2GiB                       # guaranteed share: bytes, or a fraction of --memory
 *       maxConcurrency: 64                 # requests in flight across its models
 *       requestsPerSecond: 500             # token bucket, burst one second's worth
 *       priority: 1                        # load-queue priority (higher first)
 *
 * Decoding errors name the field: `tenants[2].memory: expected bytes like 2GiB or a fraction in (0,1]`.
 */
import { readFile } from "node:fs/promises"
import { Data, Either, ParseResult, Schema } from "effect"
import { parse as parseYaml } from "yaml"
import { formatBytes, parseBytes } from "@meshkit/core"
import { messageOf } from "../errors.js"

/** The tenant of models nobody else owns: the admin's (and every model on an open server). */
export const ADMIN_TENANT = "default"

const Sha256Hex = Schema.String.pipe(
  Schema.pattern(/^[0-9a-fA-F]{64}$/, { message: () => "expected a sha256 digest: 64 hex characters (echo -n TOKEN | sha256sum)" })
)

const Credentials = {
  tokenSha256: Schema.optional(Sha256Hex),
  tokens: Schema.optional(Schema.Array(Sha256Hex).pipe(Schema.minItems(1, { message: () => "expected at least one sha256 digest" })))
}
const needsToken = (c: { readonly tokenSha256?: string | undefined; readonly tokens?: ReadonlyArray<string> | undefined }) =>
  c.tokenSha256 !== undefined || c.tokens !== undefined ? true : "a token is required: tokenSha256 or tokens"

/** A share of the memory budget: bytes ("2GiB", 1073741824) or a fraction of --memory (0.25). */
export type MemoryShare = { readonly bytes: number } | { readonly fraction: number }

const MEMORY_MESSAGE = "expected bytes like 2GiB or a fraction in (0,1]"
const MemoryShareSchema = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Any, {
  strict: true,
  decode: (v, _, ast) => {
    const fraction = typeof v === "number" ? v : /^\s*(0?\.\d+|1(\.0*)?|0)\s*$/.test(v) ? Number(v) : undefined
    if (fraction !== undefined && (typeof v === "string" || fraction <= 1)) {
      return fraction > 0 && fraction <= 1 ? ParseResult.succeed({ fraction }) : ParseResult.fail(new ParseResult.Type(ast, v, MEMORY_MESSAGE))
    }
    try {
      const bytes = parseBytes(v)
      return bytes > 0 ? ParseResult.succeed({ bytes }) : ParseResult.fail(new ParseResult.Type(ast, v, MEMORY_MESSAGE))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, v, MEMORY_MESSAGE))
    }
  },
  encode: (m) => ParseResult.succeed("bytes" in m ? m.bytes : m.fraction)
})

const intIn = (min: number, max: number) =>
  Schema.Number.pipe(Schema.filter((n) => (Number.isInteger(n) && n >= min && n <= max ? true : `expected an integer between ${min} and ${max}`)))

export const TenantSpec = Schema.Struct({
  id: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { message: () => "tenant ids are 1-100 characters: letters, digits, '.', '_', '-'" }),
    Schema.filter((id) => (id === ADMIN_TENANT ? `"${ADMIN_TENANT}" is reserved for the admin's models` : true))
  ),
  ...Credentials,
  memory: Schema.optional(MemoryShareSchema),
  maxConcurrency: Schema.optional(intIn(1, 10_000_000)),
  requestsPerSecond: Schema.optional(Schema.Number.pipe(Schema.filter((n) => (Number.isFinite(n) && n > 0 ? true : "expected a number > 0")))),
  priority: Schema.optional(intIn(-1000, 1000))
}).pipe(Schema.filter(needsToken))
export type TenantSpec = Omit<typeof TenantSpec.Type, "memory"> & { readonly memory?: MemoryShare }

const CredentialsSpec = Schema.Struct(Credentials).pipe(Schema.filter(needsToken))

export const TenantsFile = Schema.Struct({
  admin: CredentialsSpec,
  peer: Schema.optional(CredentialsSpec),
  tenants: Schema.optionalWith(
    Schema.Array(TenantSpec),
    { default: () => [] }
  )
}).pipe(
  Schema.filter((f) => {
    const seen = new Map<string, string>()
    const owners: Array<[string, ReadonlyArray<string>]> = [
      ["admin", digestsOf(f.admin)],
      ...(f.peer ? ([["peer", digestsOf(f.peer)]] as Array<[string, ReadonlyArray<string>]>) : []),
      ...f.tenants.map((t, i): [string, ReadonlyArray<string>] => [`tenants[${i}]`, digestsOf(t)])
    ]
    for (const [who, ds] of owners) {
      for (const d of ds) {
        const other = seen.get(d)
        if (other !== undefined && other !== who) return `${who} uses the same token as ${other}: every token must be unique`
        seen.set(d, who)
      }
    }
    const ids = new Set<string>()
    for (const [i, t] of f.tenants.entries()) {
      if (ids.has(t.id)) return `tenants[${i}].id: "${t.id}" appears twice`
      ids.add(t.id)
    }
    return true
  })
)
export type TenantsFile = { readonly admin: Credentials; readonly peer?: Credentials; readonly tenants: ReadonlyArray<TenantSpec> }
type Credentials = { readonly tokenSha256?: string | undefined; readonly tokens?: ReadonlyArray<string> | undefined }

export const digestsOf = (c: Credentials): ReadonlyArray<string> => [...(c.tokenSha256 ? [c.tokenSha256] : []), ...(c.tokens ?? [])].map((d) => d.toLowerCase())

export class TenantsFileError extends Data.TaggedError("TenantsFileError")<{ readonly message: string }> {}

/** `tenants.2.memory` → `tenants[2].memory`, as the operator reads the file. */
const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s === "" ? String(k) : `${s}.${String(k)}`), "")

/** Decode a tenants file's parsed content; the error lists every bad field. */
export const decodeTenantsFile = (raw: unknown, source = "tenants file"): TenantsFile => {
  // An empty `tenants:` in YAML is null: no tenants (only the admin).
  const value = raw !== null && typeof raw === "object" && "tenants" in raw && raw.tenants === null ? { ...raw, tenants: [] } : (raw ?? {})
  const tenants = value !== null && typeof value === "object" && "tenants" in value ? value.tenants : undefined
  if (tenants !== undefined && !Array.isArray(tenants)) {
    throw new TenantsFileError({ message: `invalid ${source}:\n  tenants: expected a list of tenants (- id: ..., tokenSha256: ...)` })
  }
  const decoded = Schema.decodeUnknownEither(TenantsFile, { onExcessProperty: "error", errors: "all" })(value)
  if (Either.isRight(decoded)) return decoded.right as TenantsFile
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).filter((i) => !/^Expected undefined, actual/.test(i.message))
  const lines = issues.map((i) => `  ${fieldPath(i.path) || "(root)"}: ${i._tag === "Unexpected" ? "unknown field" : i.message}`)
  throw new TenantsFileError({ message: `invalid ${source}:\n${[...new Set(lines)].join("\n")}` })
}

export const readTenantsFile = async (path: string): Promise<TenantsFile> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    throw new TenantsFileError({ message: `cannot read tenants file ${path}: ${messageOf(e)}` })
  }
  let raw: unknown
  try {
    raw = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    throw new TenantsFileError({ message: `tenants file ${path} is not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${messageOf(e)}` })
  }
  return decodeTenantsFile(raw, `tenants file ${path}`)
}

/**
 * Each tenant's guaranteed bytes of a `budget`; shares adding up to more than the budget are
 * refused (a promise the server could not keep).
 */
export const resolveShares = (file: TenantsFile, budget: number): ReadonlyMap<string, number> => {
  const shares = new Map<string, number>()
  let total = 0
  for (const t of file.tenants) {
    if (t.memory === undefined) continue
    const bytes = "bytes" in t.memory ? t.memory.bytes : Math.floor(t.memory.fraction * budget)
    shares.set(t.id, bytes)
    total += bytes
  }
  if (total > budget) {
    const list = [...shares].map(([id, b]) => `${id} ${formatBytes(b)}`).join(", ")
    throw new TenantsFileError({ message: `tenant memory shares add up to ${formatBytes(total)}, more than --memory ${formatBytes(budget)} (${list})` })
  }
  return shares
}
