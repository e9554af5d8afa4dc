/**
 * Who is calling: the bearer token of a request resolved to a principal (the admin, a tenant, or
 * a cluster peer acting for one), and each tenant's request limits.
 *
 * A token is never kept: the presented token is hashed (sha256 of a short string costs about a
 * microsecond), the digest looked up in a Map built from the tenants file, and the match
 * confirmed with `timingSafeEqual`. Without a tenants file every caller is the admin (an open
 * server, bound to loopback unless --insecure-open) and nothing is hashed at all.
 *
 * Plain synchronous code: `authenticate` and `TenantLimiter.admit` run on every request.
 */
import { createHash, hash, timingSafeEqual } from "node:crypto"
import { ServiceTag } from "../service-tag.js"
import { TenantLimited } from "./errors.js"
import { ADMIN_TENANT, digestsOf, resolveShares, TenantsFileError, type TenantSpec, type TenantsFile } from "./tenants-file.js"

/** Header carrying, from one peer to another, the tenant a forwarded request is for (trusted only with the peer token). */
export const TENANT_HEADER = "x-meshkit-tenant"

/** One tenant's limits and their live counters (in flight; the token bucket). */
export class TenantLimiter {
  inFlight = 0
  private tokens: number
  private refilledAt = -1
  private readonly burst: number

  constructor(
    readonly id: string,
    readonly priority: number,
    readonly maxConcurrency: number,
    /** requests per second; Infinity = no rate limit */
    readonly rate: number
  ) {
    this.burst = Number.isFinite(rate) ? Math.max(1, rate) : Infinity
    this.tokens = this.burst
  }

  /** Whether a request may start now (`now` in ms, performance.now()); counts it in flight when it may. */
  admit(now: number): TenantLimited | undefined {
    if (this.inFlight >= this.maxConcurrency) {
      return new TenantLimited({ message: `tenant "${this.id}" has ${this.inFlight} requests in flight (its limit)`, retryAfterMs: 1000 })
    }
    if (this.rate !== Infinity) {
      if (this.refilledAt >= 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate)
      this.refilledAt = now
      if (this.tokens < 1) {
        return new TenantLimited({ message: `tenant "${this.id}" is over its ${this.rate} requests per second`, retryAfterMs: ((1 - this.tokens) / this.rate) * 1000 })
      }
      this.tokens -= 1
    }
    this.inFlight++
    return undefined
  }

  done(): void {
    this.inFlight--
  }

  /** Whether any limit applies (otherwise the request path skips the limiter entirely). */
  get limited(): boolean {
    return this.maxConcurrency !== Infinity || this.rate !== Infinity
  }
}

/**
 * A caller. `tenant` undefined = the admin: sees and manages every model. `forwarded`: the
 * request came from a peer instance, which already applied the tenant's limits.
 */
export class Principal {
  constructor(
    readonly tenant: TenantLimiter | undefined,
    readonly forwarded: boolean,
    /** only /metrics (the metrics token) or nothing at all (health probes): sees no model */
    readonly nobody = false
  ) {}

  get isAdmin(): boolean {
    return this.tenant === undefined && !this.nobody
  }

  /** The tenant a model it registers belongs to. */
  get tenantId(): string {
    return this.tenant === undefined ? ADMIN_TENANT : this.tenant.id
  }

  /** Whether it may see a model owned by `owner` (a model's `tenant` field). */
  sees(owner: string): boolean {
    return this.nobody ? false : this.tenant === undefined || this.tenant.id === owner
  }
}

/** Every caller of a server without a tenants file. */
export const OPEN = new Principal(undefined, false)
/** The caller of an endpoint that needs no token (health, an open /metrics): sees no model. */
export const NOBODY = new Principal(undefined, false, true)

interface Known {
  readonly digest: Buffer
  readonly principal: Principal | "peer" | "metrics"
}

export interface TenantsOptions {
  /** sha256 hex of a token that may read /metrics (besides the admin's) */
  readonly metricsTokenSha256?: string | undefined
}

/** The tenants file as a service: `yield* Tenants`. Its own service tag. */
export class Tenants extends ServiceTag("meshkit/server/Tenants")<Tenants>() {
  /** false without a tenants file: everyone is the admin and nothing is checked */
  readonly enabled: boolean
  /** by the digest's first 48 bits (a number: no string made per request), confirmed in full with timingSafeEqual */
  private readonly known = new Map<number, Known>()
  private readonly limiters = new Map<string, TenantLimiter>()
  private readonly asPeer = new Map<string, Principal>()
  private readonly admin = new Principal(undefined, false)
  private readonly adminViaPeer = new Principal(undefined, true)
  /** each tenant's guaranteed bytes (resolved against the memory budget) */
  readonly shares: ReadonlyMap<string, number>

  constructor(file: TenantsFile | undefined, budgetBytes: number, options: TenantsOptions = {}) {
    super()
    this.enabled = file !== undefined
    this.shares = file === undefined ? new Map() : resolveShares(file, budgetBytes)
    if (options.metricsTokenSha256 !== undefined) this.add(options.metricsTokenSha256.toLowerCase(), "metrics")
    if (file === undefined) return
    for (const d of digestsOf(file.admin)) this.add(d, this.admin)
    for (const d of file.peer ? digestsOf(file.peer) : []) this.add(d, "peer")
    for (const t of file.tenants) {
      const lim = limiterOf(t)
      this.limiters.set(t.id, lim)
      this.asPeer.set(t.id, new Principal(lim, true))
      const p = new Principal(lim, false)
      for (const d of digestsOf(t)) this.add(d, p)
    }
  }

  private add(hex: string, principal: Known["principal"]): void {
    const digest = Buffer.from(hex, "hex")
    const key = digest.readUIntLE(0, 6)
    const other = this.known.get(key)
    // Two different tokens sharing 48 bits of their sha256: astronomically unlikely; refuse rather than mis-resolve.
    if (other !== undefined && !other.digest.equals(digest)) throw new TenantsFileError({ message: "two tokens of the tenants file share a digest prefix: change one of them" })
    this.known.set(key, { digest, principal })
  }

  /** The tenant's limiter (limits and counters), if the tenant exists. */
  tenant(id: string): TenantLimiter | undefined {
    return this.limiters.get(id)
  }

  /** Load-queue priority of a model's tenant (0 for the admin's models and unknown tenants). */
  priorityOf(tenantId: string): number {
    return this.limiters.get(tenantId)?.priority ?? 0
  }

  get tenantIds(): ReadonlyArray<string> {
    return [...this.limiters.keys()]
  }

  private match(authorization: string | undefined): Known | undefined {
    if (authorization === undefined || authorization.length < 8 || authorization.length > 4096) return undefined
    // "Bearer " in any case, as RFC 6750 allows (char codes | 32: lower case, no string made).
    const a = authorization
    if (
      a.charCodeAt(6) !== 32 ||
      (a.charCodeAt(0) | 32) !== 98 || (a.charCodeAt(1) | 32) !== 101 || (a.charCodeAt(2) | 32) !== 97 ||
      (a.charCodeAt(3) | 32) !== 114 || (a.charCodeAt(4) | 32) !== 101 || (a.charCodeAt(5) | 32) !== 114
    ) return undefined
    const raw = a.slice(7)
    const token = raw.charCodeAt(0) === 32 || raw.charCodeAt(raw.length - 1) === 32 ? raw.trim() : raw
    if (token.length === 0) return undefined
    // crypto.hash: one call, no Hash object (measured 1.2-1.7 µs of CPU against 2.6-3.2 µs for createHash, 23-byte token).
    const digest = hash("sha256", token, "buffer")
    const k = this.known.get(digest.readUIntLE(0, 6))
    return k !== undefined && timingSafeEqual(k.digest, digest) ? k : undefined
  }

  /**
   * The principal of `Authorization: <value>`, or undefined when the token is missing or
   * unknown. A peer's token makes it act for the tenant named by `tenantHeader` (the admin when
   * absent); that header is ignored on every other token.
   */
  authenticate(authorization: string | undefined, tenantHeader: string | undefined): Principal | undefined {
    if (!this.enabled) return OPEN
    const k = this.match(authorization)
    if (k === undefined) return undefined
    const p = k.principal
    // The metrics token reads /metrics (mayReadMetrics) and nothing else.
    if (p === "metrics") return undefined
    if (p !== "peer") {
      if (p !== this.admin || tenantHeader === undefined || tenantHeader === "") return p
      // The admin token is also what peers present when the file names no separate peer token.
      return this.asPeer.get(tenantHeader) ?? undefined
    }
    if (tenantHeader === undefined || tenantHeader === "") return this.adminViaPeer
    return this.asPeer.get(tenantHeader)
  }

  /** Whether /metrics naming models needs credentials: with a tenants file or a metrics token. */
  get gatesMetrics(): boolean {
    return this.known.size > 0
  }

  /** Whether the credentials may read /metrics when it names models: the admin, a peer or the metrics token. */
  mayReadMetrics(authorization: string | undefined): boolean {
    if (!this.gatesMetrics) return true
    const k = this.match(authorization)
    return k !== undefined && (k.principal === "metrics" || k.principal === "peer" || k.principal === this.admin)
  }
}

const limiterOf = (t: TenantSpec): TenantLimiter =>
  new TenantLimiter(t.id, t.priority ?? 0, t.maxConcurrency ?? Infinity, t.requestsPerSecond ?? Infinity)

/** The value a forwarded request carries in TENANT_HEADER for `p` ("" = the admin). */
export const tenantHeaderOf = (p: Principal): string => (p.tenant === undefined ? "" : p.tenant.id)

/** Whether `token`'s sha256 is `hex` (constant time): start-up checks of the peer token. */
export const tokenMatches = (token: string, hex: string): boolean => {
  const d = createHash("sha256").update(token).digest()
  const h = Buffer.from(hex, "hex")
  return h.length === d.length && timingSafeEqual(h, d)
}

export const sha256Hex = (token: string): string => createHash("sha256").update(token).digest("hex")
