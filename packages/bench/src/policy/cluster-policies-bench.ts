/**
 * Micro-benchmark of the placement, routing and scaling policies: calls per second of one
 * `choose` / `desiredCopies`, each measured as the median of interleaved repeats (the machine is
 * shared and noisy). Routing runs once per simulated request, so it is the figure that matters
 * for the simulator's ≥ 2 M requests/s target.
 *
 *   npx tsx packages/bench/src/policy/cluster-policies-bench.ts [--quick] [--json]
 */
import { buildPolicy, makeRng, policiesOf, type CopyView, type InstanceView, type ModelLoadStats, type PlacementRequest } from "@meshkit/core"

interface Case {
  readonly name: string
  /** runs the operation `n` times; returns something derived from the results so nothing is optimised away */
  readonly run: (n: number) => number
}

export interface ClusterBenchFigure {
  readonly name: string
  readonly callsPerSecond: number
  readonly min: number
  readonly max: number
}

const copiesOf = (count: number, variants: number): CopyView[][] => {
  const rng = makeRng(42)
  return Array.from({ length: variants }, () =>
    Array.from({ length: count }, (_, i) => ({ instanceId: `i${i}`, inFlight: rng.int(4), maxConcurrency: 4 }))
  )
}

const routingCases = (): Case[] =>
  policiesOf("routing").flatMap((d) =>
    [1, 3, 8].map((count): Case => {
      const p = buildPolicy("routing", d.name, { rng: makeRng(1) })
      const sets = copiesOf(count, 64)
      const models = Array.from({ length: 1000 }, (_, i) => `model-${i}`)
      return {
        name: `routing ${d.name} (${count} ${count === 1 ? "copy" : "copies"})`,
        run: (n) => {
          let acc = 0
          for (let i = 0; i < n; i++) acc += p.choose(sets[i & 63]!, i, models[i % 1000])
          return acc
        }
      }
    })
  )

const clusterOf = (count: number): InstanceView[][] => {
  const rng = makeRng(7)
  const GiB = 1024 ** 3
  return Array.from({ length: 32 }, () =>
    Array.from({ length: count }, (_, i) => ({
      id: `inst-${i}`,
      capacityBytes: 16 * GiB,
      usedBytes: Math.floor(rng.next() * 16 * GiB),
      labels: { zone: i % 2 ? "a" : "b" },
      loadingCount: rng.int(3),
      maxConcurrentLoads: 2,
      inFlight: rng.int(20),
      modelCount: rng.int(50),
      lruTime: rng.int(1_000_000),
      rpm: rng.int(3000),
      shuttingDown: false,
      hasModel: rng.int(10) === 0
    }))
  )
}

const placementCases = (): Case[] =>
  policiesOf("placement").flatMap((d) =>
    [8, 64].map((count): Case => {
      const p = buildPolicy("placement", d.name, { rng: makeRng(1) })
      const clusters = clusterOf(count)
      const reqs: PlacementRequest[] = Array.from({ length: 256 }, (_, i) => {
        const sizeBytes = (1 + (i % 8)) * 256 * 1024 ** 2
        return {
          model: { id: `model-${i}`, tenant: "t", format: "onnx", uri: "", sizeBytes, loadCostMs: 100, labels: {}, pinned: false, minCopies: 0, maxCopies: 5 },
          sizeBytes,
          preferred: i % 4 === 0 ? { zone: "a" } : undefined
        }
      })
      return {
        name: `placement ${d.name} (${count} instances)`,
        run: (n) => {
          let acc = 0
          for (let i = 0; i < n; i++) acc += p.choose(reqs[i & 255]!, clusters[i & 31]!, 2_000_000)?.modelCount ?? 0
          return acc
        }
      }
    })
  )

const scalingCases = (): Case[] =>
  policiesOf("scaling").map((d): Case => {
    const p = buildPolicy("scaling", d.name, { rng: makeRng(1) })
    const rng = makeRng(3)
    const now = 10_000_000
    const stats: ModelLoadStats[] = Array.from({ length: 256 }, (_, i) => ({
      id: `model-${i}`,
      copies: rng.int(4),
      minCopies: 0,
      maxCopies: 8,
      rpm: rng.int(8000),
      lastUsed: now - rng.int(1_200_000),
      firstUsedInWindow: now - rng.int(2_400_000),
      clusterFreeFraction: rng.next()
    }))
    return {
      name: `scaling ${d.name}`,
      run: (n) => {
        let acc = 0
        for (let i = 0; i < n; i++) acc += p.desiredCopies(stats[i & 255]!, now)
        return acc
      }
    }
  })

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

/** Interleaved repeats: every case once per round, so a noisy moment hits all cases alike. */
export const measureClusterPolicies = (opts: { quick?: boolean } = {}): ClusterBenchFigure[] => {
  const cases = [...routingCases(), ...placementCases(), ...scalingCases()]
  const rounds = opts.quick ? 3 : 7
  const targetMs = opts.quick ? 40 : 120
  // Calibrate each case to about targetMs per repeat (after a warm-up that lets the JIT settle).
  const sizes = cases.map((c) => {
    let n = 1000
    c.run(n)
    for (;;) {
      const t0 = process.hrtime.bigint()
      c.run(n)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (ms >= targetMs / 4 || n > 1e9) return Math.max(1000, Math.round((n * targetMs) / Math.max(ms, 0.001)))
      n *= 4
    }
  })
  const rates: number[][] = cases.map(() => [])
  let sink = 0
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      const n = sizes[i]!
      const t0 = process.hrtime.bigint()
      sink += c.run(n)
      const s = Number(process.hrtime.bigint() - t0) / 1e9
      rates[i]!.push(n / s)
    })
  }
  if (sink === -1) console.log("")
  return cases.map((c, i) => ({
    name: c.name,
    callsPerSecond: median(rates[i]!),
    min: Math.min(...rates[i]!),
    max: Math.max(...rates[i]!)
  }))
}

const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`)

export const runClusterPolicyBench = async (argv: string[]): Promise<number> => {
  const figures = measureClusterPolicies({ quick: argv.includes("--quick") })
  if (argv.includes("--json")) {
    console.log(JSON.stringify(figures, null, 2))
    return 0
  }
  console.log(`| case | calls/s (median) | min | max |\n|---|---:|---:|---:|`)
  for (const f of figures) console.log(`| ${f.name} | ${fmt(f.callsPerSecond)} | ${fmt(f.min)} | ${fmt(f.max)} |`)
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runClusterPolicyBench(process.argv.slice(2))
}
