import { lookup } from "node:dns/promises"
import { realpath } from "node:fs/promises"
import { BlockList, isIP } from "node:net"
import { isAbsolute, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { Data } from "effect"
import { BadRequest, type ErrorKind, KindId, messageOf } from "../errors.js"

/**
 * What a register call may name as a model source. Without these rules any caller could make the
 * server read any file on its disk (/etc/shadow as a "model": the error told its size) or fetch any
 * URL (cloud metadata endpoints, internal services). So:
 *
 * - a file must resolve, as a real path (symlinks followed), under `--models` or a `--model-roots`
 *   directory; `..` segments and the kernel's pseudo file systems are refused outright;
 * - a URL must name a host in `--allow-url-hosts` (none by default), must not resolve to a
 *   loopback, private or link-local address unless `--allow-private-urls`, and may redirect only
 *   within the same host.
 *
 * Every refusal names the rule (and the flag that changes it), and is decided before the file is
 * touched, so it never tells whether a file outside the roots exists, nor its size or checksum.
 */

/** A source a rule refuses (HTTP 403, gRPC PERMISSION_DENIED). */
export class SourceRefused extends Data.TaggedError("SourceRefused")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "forbidden"
  }
}

export interface AllowedHost {
  readonly host: string
  /** undefined: any port */
  readonly port?: number
}

export interface SourceRules {
  /** real paths of the directories files may come from */
  readonly roots: ReadonlyArray<string>
  /** the same directories as given (resolved, not real), so a symlinked root matches as written */
  readonly givenRoots: ReadonlyArray<string>
  readonly allowHosts: ReadonlyArray<AllowedHost>
  readonly allowPrivate: boolean
  readonly maxDownloadBytes: number
  readonly timeoutMs: number
}

const REFUSED_PREFIXES = ["/proc", "/sys", "/dev"]

const parseHost = (entry: string): AllowedHost => {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.trim())
  const host = (m?.[1] ?? entry).replace(/^\[|\]$/g, "").toLowerCase()
  return m?.[2] !== undefined ? { host, port: Number(m[2]) } : { host }
}

const memo = new WeakMap<object, Promise<SourceRules>>()

/** The rules of one configuration, made once (the control plane and the loader share them). */
export const sourceRulesOf = (c: Parameters<typeof makeSourceRules>[0]): Promise<SourceRules> => {
  let p = memo.get(c)
  if (p === undefined) {
    p = makeSourceRules(c)
    memo.set(c, p)
  }
  return p
}

/** The rules from the configuration: roots resolved to real paths (a missing root is a start-up error naming the flag). */
export const makeSourceRules = async (c: {
  readonly models?: string | undefined
  readonly modelRoots: ReadonlyArray<string>
  readonly allowUrlHosts: ReadonlyArray<string>
  readonly allowPrivateUrls: boolean
  readonly maxDownloadSize: number
  readonly downloadTimeout: number
}): Promise<SourceRules> => {
  const dirs: Array<[string, string]> = []
  if (c.models !== undefined) dirs.push([c.models, "--models"])
  for (const d of c.modelRoots) dirs.push([d, "--model-roots"])
  const roots: string[] = []
  const givenRoots: string[] = []
  for (const [d, flag] of dirs) {
    let real: string
    try {
      real = await realpath(d)
    } catch (e) {
      throw new Error(`${flag}: cannot use ${d} as a model root: ${messageOf(e)}`)
    }
    roots.push(real)
    givenRoots.push(resolve(d))
  }
  return {
    roots,
    givenRoots,
    allowHosts: c.allowUrlHosts.map(parseHost),
    allowPrivate: c.allowPrivateUrls,
    maxDownloadBytes: c.maxDownloadSize,
    timeoutMs: c.downloadTimeout
  }
}

const within = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
const underAny = (path: string, roots: ReadonlyArray<string>) => roots.some((r) => within(path, r))
const pseudo = (path: string) => REFUSED_PREFIXES.some((p) => within(path, p))

/**
 * The real path of a file URI (a path or file:// URL) if the rules allow it. Decided on the
 * text first (outside the roots → refused without touching the disk), then on the real path.
 * Throws SourceRefused (a rule) or BadRequest (a file inside the roots that is missing or unusable).
 */
export const confineFile = async (uri: string, rules: SourceRules): Promise<string> => {
  let path: string
  try {
    path = uri.startsWith("file:") ? fileURLToPath(uri) : uri
  } catch (e) {
    throw new BadRequest({ message: `uri is not a usable file URL: ${messageOf(e)}` })
  }
  if (path.includes("\0")) throw new BadRequest({ message: "uri contains a NUL character" })
  if (path.split(/[\\/]/).includes("..")) throw new SourceRefused({ message: `uri must not contain ".." segments (file sources are confined to --models and --model-roots)` })
  if (rules.roots.length === 0) {
    throw new SourceRefused({ message: "file sources are refused: this server has no model roots (start it with --models or --model-roots DIR)" })
  }
  const abs = isAbsolute(path) ? resolve(path) : resolve(path)
  const refusedOutside = () => new SourceRefused({ message: "uri is outside the model roots (file sources are confined to --models and --model-roots)" })
  if (pseudo(abs) || !(underAny(abs, rules.roots) || underAny(abs, rules.givenRoots))) throw refusedOutside()
  let real: string
  try {
    real = await realpath(abs)
  } catch {
    // Inside a root: saying it is missing tells nothing about the rest of the disk.
    throw new BadRequest({ message: "uri: no such file under the model roots" })
  }
  if (pseudo(real) || !underAny(real, rules.roots)) {
    throw new SourceRefused({ message: "uri resolves (through a symbolic link) outside the model roots (--models, --model-roots)" })
  }
  return real
}

// Addresses a download may not reach unless --allow-private-urls: loopback, private, link-local,
// carrier-grade NAT, multicast, reserved, and their IPv4-mapped IPv6 forms.
const PRIVATE = new BlockList()
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["224.0.0.0", 4], ["240.0.0.0", 4]
] as const) PRIVATE.addSubnet(net, bits, "ipv4")
for (const [net, bits] of [["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32]] as const) {
  PRIVATE.addSubnet(net, bits, "ipv6")
}

export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address)
  if (family === 4) return PRIVATE.check(address, "ipv4")
  if (family !== 6) return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return PRIVATE.check(mapped[1]!, "ipv4")
  return PRIVATE.check(address, "ipv6")
}

/** A URL the rules allow, with the checked address to connect to (so DNS cannot change its answer in between). */
export interface CheckedUrl {
  readonly url: URL
  readonly address: string
  readonly family: 4 | 6
}

const defaultPort = (u: URL) => (u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : 80)
export const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, "").toLowerCase()

/** Check a URL against the host list and the address rule (resolving its name). Throws SourceRefused. */
export const checkUrl = async (raw: string | URL, rules: SourceRules): Promise<CheckedUrl> => {
  let url: URL
  try {
    url = typeof raw === "string" ? new URL(raw) : raw
  } catch {
    throw new BadRequest({ message: "uri is not a valid URL" })
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new SourceRefused({ message: `URL scheme ${url.protocol} is not allowed (http and https only)` })
  if (url.username !== "" || url.password !== "") throw new SourceRefused({ message: "URLs with credentials are not allowed" })
  if (rules.allowHosts.length === 0) {
    throw new SourceRefused({ message: "URL sources are refused: no host is allowed (start the server with --allow-url-hosts HOST[:PORT],...)" })
  }
  const host = hostOf(url)
  const port = defaultPort(url)
  if (!rules.allowHosts.some((a) => a.host === host && (a.port === undefined || a.port === port))) {
    throw new SourceRefused({ message: `URL host ${host}:${port} is not in --allow-url-hosts` })
  }
  let addresses: Array<{ address: string; family: number }>
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }]
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true })
    } catch (e) {
      throw new SourceRefused({ message: `URL host ${host} does not resolve: ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}` })
    }
  }
  if (addresses.length === 0) throw new SourceRefused({ message: `URL host ${host} does not resolve` })
  if (!rules.allowPrivate) {
    // Every address must be public: otherwise a name with one public and one private address could still reach the inside.
    if (addresses.some((a) => isPrivateAddress(a.address))) {
      throw new SourceRefused({ message: `URL host ${host} resolves to a loopback, private or link-local address (allowed only with --allow-private-urls)` })
    }
  }
  const first = addresses[0]!
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 }
}
