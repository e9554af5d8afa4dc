export const run = async (_argv: string[]): Promise<number> => {
  const { runCoreBench } = await import("@meshkit/core/bench/eviction-bench.ts")
  return runCoreBench(_argv)
}
