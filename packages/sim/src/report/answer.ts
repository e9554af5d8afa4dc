// The report's first section: which policy wins, by how much, and which policies tie. Everything is
// computed from the results (no policy is named here by hand), so the text stays true for any trace.
import { buildPolicy, findPolicy, formatBytes, makeRng } from "@meshkit/core"
import { formatDuration, formatNumber, formatPercent, type Section } from "@meshkit/report"
import type { PolicyResult } from "../metrics/result.js"
import type { SweepPoint } from "../run/scenario-run.js"
import { p9999Us } from "./latency-section.js"
import { sizeLabel } from "./size-label.js"

/** The policy's registered name from its label ("ttl(keepAliveMs=60000)" → "ttl"). */
const nameOf = (label: string): string => label.split("(")[0]!

const isOffline = (label: string): boolean => findPolicy("eviction", nameOf(label))?.offline === true

/** A keep-alive policy unloads idle models without memory pressure: its policy object has expired(). */
export const isKeepAlive = (label: string): boolean => {
  if (!findPolicy("eviction", nameOf(label))) return false
  try {
    const p = buildPolicy("eviction", nameOf(label), { rng: makeRng(1), capacityBytes: 1 << 30 })
    return typeof p.expired === "function"
  } catch {
    return false
  }
}

/**
 * Everything a result row shows, and the per-tenant breakdown: two policies tie when all of it is
 * equal (the run's own speed, wall time and requests per second, is not a result of the policy).
 */
const resultKey = (r: PolicyResult): string =>
  JSON.stringify([
    r.requests, r.hits, r.misses, r.missRatio, r.byteMissRatio, r.coldStarts, r.coldStartSeconds, r.latencyUs,
    r.sloAttainment, r.peakMemoryBytes, r.meanMemoryBytes, r.loads, r.evictions, r.failed, r.fairness, r.tenants
  ])

/** Groups of two or more policies with identical results, each in the order the policies ran. */
export const tieGroups = (results: readonly PolicyResult[]): PolicyResult[][] => {
  const groups = new Map<string, PolicyResult[]>()
  for (const r of results) {
    const k = resultKey(r)
    const g = groups.get(k)
    if (g) g.push(r)
    else groups.set(k, [r])
  }
  return [...groups.values()].filter((g) => g.length > 1)
}

const list = (names: readonly string[]): string =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`

/** One sentence per tie group, with the reason when the followers are keep-alive policies. */
export const tieSentences = (results: readonly PolicyResult[]): string[] =>
  tieGroups(results).map((g) => {
    const [lead, ...rest] = g as [PolicyResult, ...PolicyResult[]]
    const names = list(rest.map((r) => r.policy))
    const verb = rest.length === 1 ? "gives" : "give"
    const keepAlive = rest.filter((r) => isKeepAlive(r.policy) && !isKeepAlive(lead.policy))
    const why =
      keepAlive.length === rest.length
        ? `: ${rest.length === 1 ? "its" : "their"} keep-alive never fires on this trace (identical loads, evictions and memory: no model was unloaded for being idle), so ${rest.length === 1 ? "it behaves" : "they behave"} as ${lead.policy}`
        : " (identical in every column)"
    return `${names} ${verb} exactly ${lead.policy}'s results here${why}.`
  })

export type Mode = "full" | "ideal"

/** Best first: cold-start seconds, then misses and p99 (full mode); miss ratio, then byte miss ratio (ideal). */
const rank = (mode: Mode) => (a: PolicyResult, b: PolicyResult): number =>
  mode === "full"
    ? a.coldStartSeconds - b.coldStartSeconds || a.missRatio - b.missRatio || a.latencyUs.p99 - b.latencyUs.p99
    : a.missRatio - b.missRatio || a.byteMissRatio - b.byteMissRatio

const signedPercent = (fraction: number): string =>
  fraction === 0 ? "±0%" : `${fraction > 0 ? "+" : "−"}${formatPercent(Math.abs(fraction), 1)}`

/** b relative to a: +14.4% when b is 14.4 % higher. */
const relative = (a: number, b: number): number => (a === 0 ? (b === 0 ? 0 : Infinity) : (b - a) / a)

const us = (v: number): string => formatDuration(v / 1000)

export interface AnswerInput {
  readonly results: readonly PolicyResult[]
  readonly mode: Mode
  /** "4 × 8 GiB" or "one cache of 8 GiB" */
  readonly where: string
  readonly sweep: readonly SweepPoint[]
  /** per policy label: its latency CDF (p99.99 is read from it) */
  readonly cdf?: ReadonlyMap<string, ReadonlyArray<readonly [number, number]>>
}

export interface Answer {
  readonly winner: PolicyResult
  readonly runnerUp: PolicyResult | undefined
  readonly section: Section
}

/** The key answer: the winner, the runner-up and lru side by side, ties and the sweep's winners. */
export const answerSection = (input: AnswerInput): Answer | undefined => {
  const { results, mode } = input
  const online = results.filter((r) => !isOffline(r.policy))
  const ranked = [...(online.length > 0 ? online : results)].sort(rank(mode))
  const winner = ranked[0]
  if (!winner) return undefined
  const winnerKey = resultKey(winner)
  const tiedWithWinner = ranked.filter((r) => r !== winner && resultKey(r) === winnerKey)
  const runnerUp = ranked.find((r) => resultKey(r) !== winnerKey)
  const lru = results.find((r) => nameOf(r.policy) === "lru")
  const full = mode === "full"

  const figures = (r: PolicyResult): string =>
    full
      ? `${formatNumber(r.coldStartSeconds, 1)} cold-start seconds, miss ratio ${r.missRatio.toFixed(4)}, p99 ${us(r.latencyUs.p99)}`
      : `miss ratio ${r.missRatio.toFixed(4)}, byte miss ratio ${r.byteMissRatio.toFixed(4)}`
  // "14.4% more": the other policy against the winner, as the table's "vs winner" column reads.
  const margin = (other: PolicyResult): string =>
    full
      ? `${signedPercent(relative(winner.coldStartSeconds, other.coldStartSeconds)).replace("+", "")} more cold-start seconds`
      : `a ${signedPercent(relative(winner.missRatio, other.missRatio)).replace("+", "")} higher miss ratio`
  const tiedNote = tiedWithWinner.length > 0 ? ` (${list(tiedWithWinner.map((r) => r.policy))} ${tiedWithWinner.length === 1 ? "ties" : "tie"} with it)` : ""
  const short = (r: PolicyResult): string =>
    full ? `${formatNumber(r.coldStartSeconds, 1)} s, miss ratio ${r.missRatio.toFixed(4)}, p99 ${us(r.latencyUs.p99)}` : figures(r)
  const paragraphs: string[] = []
  paragraphs.push(
    runnerUp
      ? `${winner.policy} wins at ${input.where}${tiedNote}: ${figures(winner)}. The runner-up, ${runnerUp.policy}, has ${margin(runnerUp)} (${short(runnerUp)}).`
      : `${winner.policy} at ${input.where}: ${figures(winner)}; every policy compared gives the same results.`
  )
  if (lru && resultKey(lru) !== winnerKey && lru !== runnerUp) {
    paragraphs.push(`Against lru: lru has ${margin(lru)} (${short(lru)}).`)
  }
  const ties = tieSentences(results)
  if (ties.length > 0) paragraphs.push(`Ties: ${ties.join(" ")}`)
  const sweepLine = sweepWinners(input.sweep, mode)
  if (sweepLine) paragraphs.push(sweepLine)
  const keepAliveLine = keepAliveSavings(input.sweep, mode)
  if (keepAliveLine) paragraphs.push(keepAliveLine)
  const bounds = results.filter((r) => isOffline(r.policy))
  if (bounds.length > 0 && online.length > 0) {
    paragraphs.push(
      `Offline bound${bounds.length > 1 ? "s" : ""} (need the future, not deployable): ` +
        bounds.map((b) => `${b.policy} miss ratio ${b.missRatio.toFixed(4)} (${winner.policy} is ${(b.missRatio > 0 ? winner.missRatio / b.missRatio : 1).toFixed(2)}× it)`).join("; ") +
        "."
    )
  }

  const rows: Array<readonly [string, PolicyResult]> = [["winner", winner]]
  if (runnerUp) rows.push(["runner-up", runnerUp])
  if (lru && lru !== winner && lru !== runnerUp) rows.push(["baseline", lru])
  const p9999 = (r: PolicyResult) => {
    const v = p9999Us(input.cdf?.get(r.policy))
    return v === undefined ? "—" : us(v)
  }
  const table = full
    ? {
        columns: ["policy", "", "cold-start s", "vs winner", "miss ratio", "p50", "p99", "p99.9", "p99.99", "SLO met"],
        rows: rows.map(([role, r]) => [
          r.policy,
          role,
          formatNumber(r.coldStartSeconds, 1),
          r === winner ? "—" : signedPercent(relative(winner.coldStartSeconds, r.coldStartSeconds)),
          r.missRatio.toFixed(4),
          us(r.latencyUs.p50),
          us(r.latencyUs.p99),
          us(r.latencyUs.p999),
          p9999(r),
          formatPercent(r.sloAttainment, 2)
        ])
      }
    : {
        columns: ["policy", "", "miss ratio", "vs winner", "byte miss ratio", "misses"],
        rows: rows.map(([role, r]) => [
          r.policy,
          role,
          r.missRatio.toFixed(4),
          r === winner ? "—" : signedPercent(relative(winner.missRatio, r.missRatio)),
          r.byteMissRatio.toFixed(4),
          formatNumber(r.misses, 0)
        ])
      }
  return { winner, runnerUp, section: { heading: "Answer", lead: true, text: paragraphs.join("\n\n"), table } }
}

/** "Across the sweep, the fewest cold-start seconds: lru at 1–8 GiB; sieve at 16 GiB." */
export const sweepWinners = (sweep: readonly SweepPoint[], mode: Mode): string | undefined => {
  const sizes = [...new Set(sweep.map((p) => p.memoryBytes))].sort((a, b) => a - b)
  if (sizes.length < 2) return undefined
  const metric = (p: SweepPoint) => (mode === "full" ? p.coldStartSeconds : p.missRatio)
  const online = sweep.filter((p) => !isOffline(p.policy))
  const best = sizes.map((m) => {
    const at = online.filter((p) => p.memoryBytes === m)
    const min = Math.min(...at.map(metric))
    return at.filter((p) => metric(p) === min).map((p) => p.policy).join(" = ")
  })
  // Consecutive sizes with the same winners read as one range.
  const runs: Array<{ who: string; from: number; to: number }> = []
  best.forEach((who, i) => {
    const last = runs[runs.length - 1]
    if (last && last.who === who) last.to = sizes[i]!
    else runs.push({ who, from: sizes[i]!, to: sizes[i]! })
  })
  const what = mode === "full" ? "fewest cold-start seconds" : "lowest miss ratio"
  if (runs.length === 1) return `Across the memory sweep (${sizes.length} sizes, ${sizeLabel(sizes[0]!)} to ${sizeLabel(sizes[sizes.length - 1]!)} per instance), ${runs[0]!.who} has the ${what} at every size.`
  return (
    `Across the memory sweep (${sizes.length} sizes per instance), the ${what}: ` +
    runs.map((r) => `${r.who} at ${r.from === r.to ? sizeLabel(r.from) : `${sizeLabel(r.from)} to ${sizeLabel(r.to)}`}`).join("; ") +
    "."
  )
}

/**
 * What keep-alive buys across the sweep: a keep-alive policy differs from lru only where idle
 * models outlive their keep-alive before memory pressure evicts them. Where it fires, the memory
 * it frees (mean held) against the cold starts it adds; where it never fires, that it does not.
 */
export const keepAliveSavings = (sweep: readonly SweepPoint[], mode: Mode): string | undefined => {
  const lruAt = new Map(sweep.filter((p) => nameOf(p.policy) === "lru").map((p) => [p.memoryBytes, p]))
  const keepers = sweep.filter((p) => isKeepAlive(p.policy) && lruAt.has(p.memoryBytes))
  const names = [...new Set(keepers.map((p) => p.policy))]
  const sizes = [...lruAt.keys()].sort((a, b) => a - b)
  if (names.length === 0 || sizes.length < 2) return undefined
  const cost = mode === "full" ? "cold-start seconds" : "misses"
  const costOf = (p: SweepPoint) => (mode === "full" ? p.coldStartSeconds : p.missRatio)
  const parts = names.map((name) => {
    const fires = keepers.filter((p) => p.policy === name && (p.meanMemoryBytes !== lruAt.get(p.memoryBytes)!.meanMemoryBytes || p.coldStarts !== lruAt.get(p.memoryBytes)!.coldStarts))
    if (fires.length === 0) return `${name} never fires at any swept size`
    const at = fires.reduce((a, b) => (b.memoryBytes > a.memoryBytes ? b : a))
    const lru = lruAt.get(at.memoryBytes)!
    const from = fires.reduce((a, b) => (b.memoryBytes < a.memoryBytes ? b : a)).memoryBytes
    return (
      `${name} fires from ${sizeLabel(from)} per instance; at ${sizeLabel(at.memoryBytes)} it holds ${formatBytes(at.meanMemoryBytes)} on average against lru's ${formatBytes(lru.meanMemoryBytes)} ` +
      `(${signedPercent(relative(lru.meanMemoryBytes, at.meanMemoryBytes))}), for ${signedPercent(relative(costOf(lru), costOf(at)))} ${cost}`
    )
  })
  const never = parts.every((p) => p.endsWith("never fires at any swept size"))
  return (
    `Keep-alive (idle models unloaded without memory pressure): ${parts.join("; ")}.` +
    (never ? ` Up to ${sizeLabel(sizes[sizes.length - 1]!)} per instance memory is always under pressure, so idle models are evicted before their keep-alive ends.` : "")
  )
}
