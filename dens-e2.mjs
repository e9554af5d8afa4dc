import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
const p = spawn(process.execPath, ["/work/main/bin/meshkit.js", "serve", "--models", "/tmp/e2/dens/models", "--port", "0", "--memory", "32MiB", "--data-dir", "/tmp/e2/dens/data", "--log-level", "warn", ...process.argv.slice(2)], { stdio: ["ignore", "pipe", "inherit"] })
const port = await new Promise((r) => { let o = ""; p.stdout.on("data", (c) => { o += c; const m = /http:\/\/[\d.]+:(\d+)/.exec(o); if (m) r(m[1]) }) })
const rss0 = 0
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))[1]) * 1024
await new Promise((r) => setTimeout(r, 500))
console.log("idle RSS MiB", (rss() / 2 ** 20).toFixed(0))
const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array.from({ length: 64 }, (_, i) => Math.sin(i)) }] })
const statuses = {}
let maxRss = 0
const end = Date.now() + 15000
const worker = async () => {
  while (Date.now() < end) {
    const i = Math.min(199, Math.floor(Math.pow(Math.random(), 3) * 200))
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/model-${String(i).padStart(4, "0")}/infer`, { method: "POST", body })
    await res.arrayBuffer()
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
  }
}
const iv = setInterval(() => (maxRss = Math.max(maxRss, rss())), 100)
await Promise.all(Array.from({ length: 16 }, worker))
clearInterval(iv)
const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
console.log(statuses, "maxRSS MiB", (maxRss / 2 ** 20).toFixed(0), m.split("\n").filter((l) => /^meshkit_(cache|used|models_loaded|evictions|load_failures)/.test(l)).join(" | "))
p.kill("SIGTERM")
