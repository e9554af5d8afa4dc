import { policiesOf } from "@meshkit/core"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { figureOf, median, type Figure } from "../report/figures.js"
import { cpuNowMs } from "../report/machine.js"
import type { Part } from "../report/parts.js"

/**
 * Eviction policy micro-benchmarks on the policy core's own replay (`meshkit bench-core`: requests
 * per second through ModelCache with ~10,000 resident models), run in rounds — every policy once
 * per round — so that each policy's speed relative to lru is taken from the same stretch of time.
 * The gated figures are those ratios; absolute M req/s are shown.
 */

/** the policies the policy core's issue expects at ≥ 10 M req/s (the others: ≥ 3 M req/s) */
const FAST = ["lru", "fifo", "sieve"]

export const policyPart: Part = async (ctx) => {
  const { makeStream, makeReplay } = await import("../policy/eviction-bench.js")
  const { Bench } = await import("tinybench")
  // many short rounds rather than few long ones: a burst of other work on a shared machine then
  // spoils one round's ratios, and the median drops it
  const rounds = ctx.quick ? 5 : 7
  const timeMs = ctx.quick ? 80 : 300
  const chunk = 1 << 14
  const policies = policiesOf("eviction").map((d) => d.name)
  if (!policies.includes("lru")) throw new Error("no lru policy in the registry: it is the reference of the ratios")
  // bench-core's stream, shorter (2^18 requests, replayed cyclically) so filling the slowest offline policy takes seconds, not tens
  const stream = makeStream({ models: 12_000, residents: 10_000, alpha: 0.9, length: 1 << 18, seed: 1 })
  const replays = policies.map((p) => {
    const r = makeReplay(p, stream)
    r.step(stream.model.length) // one full pass fills the cache
    return r
  })
  const mreqs = new Map<string, number[]>(policies.map((p) => [p, []]))
  const vsLru = new Map<string, number[]>(policies.map((p) => [p, []]))
  for (let round = 0; round < rounds; round++) {
    const got = new Map<string, number>()
    for (let i = 0; i < policies.length; i++) {
      const replay = replays[i]!
      const bench = new Bench({ time: timeMs, iterations: 3, warmup: false, now: cpuNowMs })
      bench.add(policies[i]!, () => replay.step(chunk))
      await bench.run()
      const r = bench.tasks[0]!.result
      if (!("latency" in r)) throw new Error(`bench of ${policies[i]} did not complete: ${r.state}`)
      got.set(policies[i]!, chunk / (r.latency.mean / 1000) / 1e6)
    }
    const lru = got.get("lru")!
    for (const [p, v] of got) {
      mreqs.get(p)!.push(v)
      vsLru.get(p)!.push(v / lru)
    }
    ctx.progress(`round ${round + 1}/${rounds}: ${[...got].map(([p, v]) => `${p} ${fmt(v)}`).join(", ")} M req/s`)
  }
  const group = "policy"
  const figures: Figure[] = []
  for (const p of policies) {
    const target = { op: ">=" as const, value: FAST.includes(p) ? 10 : 3, source: "policy core issue" }
    const abs = figureOf({ name: `policy.${p}.mReqPerSec`, group, unit: "M req/s", better: "higher", threshold: null, target, description: "requests/s through ModelCache, 10,000 resident models" }, mreqs.get(p)!)
    if (abs) figures.push(abs)
    if (p === "lru") continue
    const rel = figureOf({ name: `policy.${p}.vsLru`, group, unit: "× lru", better: "higher", threshold: 0.5, description: "M req/s ÷ lru's in the same round" }, vsLru.get(p)!)
    if (rel) figures.push(rel)
  }
  const section: Section = {
    heading: "Policy core",
    text:
      `Requests per second through ModelCache per eviction policy (meshkit bench-core's stream: Zipf 0.9 over 12,000 models, 50–150 MiB, capacity for ~10,000), ` +
      `${rounds} rounds of ≥ ${timeMs} ms per policy (tinybench, ${chunk} requests per sample, after a full pass that fills the cache), every policy once per round; median over rounds. "vs lru" is the ratio to lru in the same round. ` +
      "Timed in CPU time of the process (a shared machine steals wall time, much less CPU time): requests per CPU-second.",
    table: {
      columns: ["policy", "M req/s", "spread", "vs lru"],
      rows: policies.map((p) => {
        const m = mreqs.get(p)!
        return [p, fmt(median(m)), `± ${fmt((Math.max(...m) - Math.min(...m)) / 2)}`, fmt(median(vsLru.get(p)!))]
      })
    },
    charts: [
      {
        id: "policy-mreqs",
        title: "Eviction policy throughput",
        xLabel: "policy",
        yLabel: "M requests/s",
        kind: "bar",
        xTicks: policies,
        series: [{ name: "median M req/s", points: policies.map((p, i) => [i, median(mreqs.get(p)!)] as const) }]
      }
    ]
  }
  return { figures, notes: [], sections: [section] }
}
