/**
 * The small scenario the end-to-end fidelity tests replay (12 models of about 32 MiB, Poisson
 * arrivals for 10 s, one 160 MiB server): a real run takes seconds, and it still loads and evicts.
 */
export const tinyFidelityScenario = (name: string): string => `
name: ${name}
seed: 3
trace:
  generate: { seed: 5, models: 12, tenants: 2, zipf: 1.0, rate: 30, arrival: poisson, sizeMedian: 32MiB, sizeSigma: 0.4, durationMs: 10000 }
cluster:
  instances: 1
  memory: 160MiB
  maxConcurrentLoads: 2
  modelConcurrency: 4
`
