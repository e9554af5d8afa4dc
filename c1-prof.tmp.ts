import { csvTrace, generatedTrace, writeCsvTrace } from "./packages/sim/src/trace/index.js"
const path = "/tmp/c1-prof.csv"
await writeCsvTrace(generatedTrace({ seed: 7, models: 1000, tenants: 10, requests: 2_000_000, rate: 500, execMedianMs: 20 }), path)
for (let r = 0; r < 4; r++) { const c0 = process.cpuUsage(); let n = 0; for await (const c of csvTrace({ path }).chunks()) n += c.length; const u = process.cpuUsage(c0); console.log(n, ((u.user+u.system)/1e6).toFixed(3)) }
