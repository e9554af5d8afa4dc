import { generatedTrace, writeCsvTrace } from "@meshkit/sim"
console.log(await writeCsvTrace(generatedTrace({ seed: 2, models: 200, tenants: 5, rate: 100, durationMs: 600000, sizeMedian: "50MiB", execMedianMs: 5 }), "/tmp/c2/t.csv"))
