import autocannon from "autocannon"
import { spawn } from "node:child_process"
const [, , which, model, ...extra] = process.argv
const bin = "/work/main/bin/meshkit.js"
const args = which === "bare"
  ? [...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/e2/profb"] : []), "--import", "tsx", "/work/main/packages/cli/src/bench/bare-server.ts", "--model", `/tmp/e2/hit/${model}.onnx`, "--port", "0"]
  : [...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/e2/prof"] : []), bin, "serve", "--models", "/tmp/e2/hit", "--port", "0", "--memory", "256MiB", "--data-dir", "/tmp/e2/hit/data", "--log-level", "warn", ...extra]
const p = spawn(process.execPath, args, { cwd: "/work/main", stdio: ["ignore", "pipe", "inherit"] })
const port = await new Promise((r) => { let o = ""; p.stdout.on("data", (c) => { o += c; const m = /http:\/\/[\d.]+:(\d+)/.exec(o); if (m) r(m[1]) }) })
const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array.from({ length: 64 }, (_, i) => Math.sin(i)) }] })
const url = `http://127.0.0.1:${port}/v2/models/${model}/infer`
await fetch(url, { method: "POST", body })
const run = (d) => autocannon({ url, method: "POST", body, headers: { "content-type": "application/json" }, connections: 64, duration: d })
import { readFileSync } from "node:fs"
const cpu = () => { const f = readFileSync(`/proc/${p.pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10 }
await run(2)
const c0 = cpu()
const r = await run(8)
const c1 = cpu()
console.log(which, extra.join(" "), "cpu-us/req", Math.round((c1 - c0) * 1000 / r.requests.total), "req/s", Math.round(r.requests.average), "p50", r.latency.p50, "p99", r.latency.p99, "non2xx", r.non2xx, "errors", r.errors)
p.kill("SIGTERM")
