/**
 * The tenants file and the principals it defines: Schema errors name the field, shares must fit
 * the budget, tokens resolve by their sha256 only (rotation lists, peer trust of the tenant
 * header), and each tenant's limits (requests in flight, token bucket) and load priority.
 */
import { describe, expect, it } from "vitest"
import { LoadPool } from "../src/instance/load-pool.js"
import { decodeTenantsFile, resolveShares, TenantsFileError } from "../src/tenancy/tenants-file.js"
import { sha256Hex, Tenants } from "../src/tenancy/tenants.js"

const GiB = 1024 ** 3
const ADMIN = sha256Hex("admin-token")
const PEER = sha256Hex("peer-token")
const ACME = sha256Hex("acme-token")
const ACME_NEXT = sha256Hex("acme-token-2")
const BETA = sha256Hex("beta-token")

const file = (tenants: unknown[], extra: Record<string, unknown> = {}) => ({ admin: { tokenSha256: ADMIN }, tenants, ...extra })

const errorOf = (raw: unknown): string => {
  try {
    decodeTenantsFile(raw)
  } catch (e) {
    expect(e).toBeInstanceOf(TenantsFileError)
    return (e as TenantsFileError).message
  }
  throw new Error("expected the tenants file to be refused")
}

describe("tenants file schema", () => {
  it("accepts the minimal file and the full example, with defaults", () => {
    const f = decodeTenantsFile(
      file([
        { id: "acme", tokenSha256: ACME, memory: "2GiB", maxConcurrency: 64, requestsPerSecond: 500, priority: 1 },
        { id: "beta", tokens: [BETA, ACME_NEXT], memory: 0.25 }
      ])
    )
    expect(f.tenants[0]).toMatchObject({ id: "acme", memory: { bytes: 2 * GiB }, maxConcurrency: 64, requestsPerSecond: 500, priority: 1 })
    expect(f.tenants[1]!.memory).toEqual({ fraction: 0.25 })
    expect(decodeTenantsFile({ admin: { tokenSha256: ADMIN } }).tenants).toEqual([])
  })

  it("names the bad field", () => {
    expect(errorOf(file([{ id: "a", tokenSha256: ACME }, { id: "b", tokenSha256: BETA }, { id: "c", tokenSha256: ACME_NEXT, memory: "lots" }]))).toContain(
      "tenants[2].memory: expected bytes like 2GiB or a fraction in (0,1]"
    )
    expect(errorOf(file([{ id: "a", tokenSha256: ACME, memory: 0 }]))).toContain("tenants[0].memory: expected bytes like 2GiB or a fraction in (0,1]")
    expect(errorOf(file([{ id: "a", tokenSha256: "abc" }]))).toContain("tenants[0].tokenSha256: expected a sha256 digest")
    expect(errorOf(file([{ id: "a" }]))).toContain("a token is required: tokenSha256 or tokens")
    expect(errorOf(file([{ id: "a", tokenSha256: ACME, maxConcurrency: 0 }]))).toContain("tenants[0].maxConcurrency: expected an integer between 1")
    expect(errorOf(file([{ id: "a", tokenSha256: ACME, requestsPerSecond: -1 }]))).toContain("tenants[0].requestsPerSecond: expected a number > 0")
    expect(errorOf(file([{ id: "a", tokenSha256: ACME, colour: "red" }]))).toContain("tenants[0].colour: unknown field")
    expect(errorOf(file([{ id: "default", tokenSha256: ACME }]))).toContain(`"default" is reserved`)
    expect(errorOf({ tenants: [] })).toContain("admin")
    expect(errorOf({ admin: { tokenSha256: ADMIN }, tenants: "acme" })).toContain("tenants: expected a list of tenants")
    expect(decodeTenantsFile({ admin: { tokenSha256: ADMIN }, tenants: null }).tenants).toEqual([])
  })

  it("refuses a token used twice and a tenant id given twice", () => {
    expect(errorOf(file([{ id: "a", tokenSha256: ADMIN }]))).toContain("uses the same token as admin")
    expect(errorOf(file([{ id: "a", tokenSha256: ACME }, { id: "a", tokenSha256: BETA }]))).toContain(`"a" appears twice`)
  })

  it("resolves shares against the budget and refuses shares over it", () => {
    const f = decodeTenantsFile(file([{ id: "a", tokenSha256: ACME, memory: 0.5 }, { id: "b", tokenSha256: BETA, memory: "256MiB" }]))
    expect([...resolveShares(f, GiB)]).toEqual([
      ["a", GiB / 2],
      ["b", 256 * 1024 ** 2]
    ])
    // Exactly the budget fits; a byte share plus a fraction of a smaller budget does not.
    expect(resolveShares(f, 512 * 1024 ** 2).get("a")).toBe(256 * 1024 ** 2)
    expect(() => resolveShares(f, 400 * 1024 ** 2)).toThrow("tenant memory shares add up to 456 MiB, more than --memory 400 MiB (a 200 MiB, b 256 MiB)")
  })
})

describe("authentication", () => {
  const tenants = new Tenants(
    decodeTenantsFile(file([{ id: "acme", tokens: [ACME, ACME_NEXT] }, { id: "beta", tokenSha256: BETA }], { peer: { tokenSha256: PEER } })),
    GiB
  )

  it("resolves a bearer token by its digest, rotation tokens included", () => {
    expect(tenants.authenticate("Bearer acme-token", undefined)?.tenantId).toBe("acme")
    expect(tenants.authenticate("bearer acme-token-2", undefined)?.tenantId).toBe("acme")
    expect(tenants.authenticate("Bearer beta-token", undefined)?.tenantId).toBe("beta")
    expect(tenants.authenticate("Bearer admin-token", undefined)?.isAdmin).toBe(true)
  })

  it("refuses missing, malformed and unknown tokens", () => {
    for (const h of [undefined, "", "Bearer ", "Basic YWNtZQ==", "Bearer nope", "acme-token", `Bearer ${ACME}`, "Bearerx acme-token"]) {
      expect(tenants.authenticate(h, undefined)).toBeUndefined()
    }
  })

  it("trusts the tenant header only on the peer (or admin) token", () => {
    const viaPeer = tenants.authenticate("Bearer peer-token", "beta")!
    expect(viaPeer.tenantId).toBe("beta")
    expect(viaPeer.forwarded).toBe(true)
    expect(tenants.authenticate("Bearer peer-token", undefined)!.isAdmin).toBe(true)
    expect(tenants.authenticate("Bearer peer-token", "nobody-such")).toBeUndefined()
    // A tenant cannot pass itself off as another.
    expect(tenants.authenticate("Bearer acme-token", "beta")!.tenantId).toBe("acme")
  })

  it("lets a tenant see only its own models; the admin sees all", () => {
    const acme = tenants.authenticate("Bearer acme-token", undefined)!
    expect(acme.sees("acme")).toBe(true)
    expect(acme.sees("beta")).toBe(false)
    expect(acme.sees("default")).toBe(false)
    expect(tenants.authenticate("Bearer admin-token", undefined)!.sees("beta")).toBe(true)
  })

  it("without a tenants file everyone is the admin", () => {
    const open = new Tenants(undefined, GiB)
    expect(open.enabled).toBe(false)
    expect(open.authenticate(undefined, undefined)?.isAdmin).toBe(true)
    expect(open.mayReadMetrics(undefined)).toBe(true)
  })

  it("gates /metrics on the admin, peer or metrics token", () => {
    const t = new Tenants(decodeTenantsFile(file([{ id: "acme", tokenSha256: ACME }], { peer: { tokenSha256: PEER } })), GiB, { metricsTokenSha256: sha256Hex("scrape") })
    expect(t.mayReadMetrics("Bearer scrape")).toBe(true)
    expect(t.mayReadMetrics("Bearer admin-token")).toBe(true)
    expect(t.mayReadMetrics("Bearer peer-token")).toBe(true)
    expect(t.mayReadMetrics("Bearer acme-token")).toBe(false)
    expect(t.mayReadMetrics(undefined)).toBe(false)
    // The metrics token reads metrics and nothing else.
    expect(t.authenticate("Bearer scrape", undefined)).toBeUndefined()
  })
})

describe("tenant limits", () => {
  const tenants = new Tenants(
    decodeTenantsFile(file([{ id: "rps", tokenSha256: ACME, requestsPerSecond: 2 }, { id: "conc", tokenSha256: BETA, maxConcurrency: 2, priority: 5 }])),
    GiB
  )

  it("token bucket: a burst of one second's worth, then Retry-After until the next token", () => {
    const lim = tenants.tenant("rps")!
    expect(lim.admit(1000)).toBeUndefined()
    lim.done()
    expect(lim.admit(1000)).toBeUndefined()
    lim.done()
    const refused = lim.admit(1000)!
    expect(refused.retryAfterMs).toBeCloseTo(500, 5)
    expect(refused.message).toContain("2 requests per second")
    expect(lim.admit(1499)).toBeDefined()
    expect(lim.admit(1500)).toBeUndefined()
  })

  it("requests in flight: refused beyond maxConcurrency until one finishes", () => {
    const lim = tenants.tenant("conc")!
    expect(lim.admit(0)).toBeUndefined()
    expect(lim.admit(0)).toBeUndefined()
    expect(lim.admit(0)?.message).toContain("2 requests in flight")
    lim.done()
    expect(lim.admit(0)).toBeUndefined()
  })

  it("priority orders the load queue, FIFO within a priority", async () => {
    expect(tenants.priorityOf("conc")).toBe(5)
    expect(tenants.priorityOf("default")).toBe(0)
    const pool = new LoadPool(1, 100)
    const order: string[] = []
    let release!: () => void
    const first = pool.run("busy", true, () => new Promise<void>((r) => (release = r)))
    const jobs = [
      pool.run("low-1", true, async () => void order.push("low-1"), 0),
      pool.run("high-1", true, async () => void order.push("high-1"), 5),
      pool.run("low-2", true, async () => void order.push("low-2"), 0),
      pool.run("high-2", true, async () => void order.push("high-2"), 5),
      pool.run("bg-high", false, async () => void order.push("bg-high"), 9)
    ]
    release()
    await Promise.all([first, ...jobs])
    // Waited-on loads still go before background ones; tenant priority orders inside each queue.
    expect(order).toEqual(["high-1", "high-2", "low-1", "low-2", "bg-high"])
  })
})
