import { formatBytes } from "@meshkit/core"
import { startLocalCluster, type ClusterInstanceInfo } from "@meshkit/server"
import { errorMessage, parse, UsageError } from "../args.js"

const help = `usage: meshkit cluster up --instances N --models DIR --memory SIZE [--etcd-bin PATH] [--grpc] [-- serve flags...]
       meshkit cluster status [--url URL] [--json]

cluster up      starts an etcd (from PATH, or --etcd-bin) and N meshkit instances on loopback in
                the foreground, each with --etcd pointing at it; prints their addresses; Ctrl-C
                drains and stops them all and removes etcd's temporary data. Flags after "--" go
                to every instance's meshkit serve (e.g. -- --placement least-loaded).
cluster status  prints the cluster as an instance sees it (GET URL/v1/cluster; default
                http://127.0.0.1:8000): each instance's memory, models, loads and requests, and
                the leader.`

export const run = async (argv: string[]): Promise<number> => {
  const [sub, ...rest] = argv
  if (sub === "--help" || sub === "-h") {
    console.log(help)
    return 0
  }
  if (sub === undefined) throw new UsageError("missing subcommand: cluster up or cluster status")
  if (sub === "up") return up(rest)
  if (sub === "status") return status(rest)
  throw new UsageError(`unknown cluster command "${sub}"`)
}

const up = async (argv: string[]): Promise<number> => {
  const dash = argv.indexOf("--")
  const own = dash >= 0 ? argv.slice(0, dash) : argv
  const extra = dash >= 0 ? argv.slice(dash + 1) : []
  const a = parse(
    own,
    { instances: { type: "string", default: "3" }, models: { type: "string" }, memory: { type: "string" }, "etcd-bin": { type: "string" }, grpc: { type: "boolean" } },
    help
  )
  if (!a) return 0
  const n = Number(a.values.instances)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--instances must be a whole number from 1 to 64, got ${JSON.stringify(a.values.instances)}`)
  if (a.values.models === undefined) throw new UsageError(`--models DIR is required (every instance reads the same directory)`)
  const serveArgs = ["--models", a.values.models, ...(a.values.memory !== undefined ? ["--memory", a.values.memory] : []), ...extra]
  console.log(`starting etcd and ${n} instance${n === 1 ? "" : "s"} …`)
  const cluster = await startLocalCluster({
    instances: n,
    serveCommand: [process.execPath, process.argv[1]!, "serve"],
    serveArgs,
    ...(a.values["etcd-bin"] !== undefined ? { etcdBin: a.values["etcd-bin"] } : {}),
    grpc: a.values.grpc === true,
    onLine: (i, line) => {
      // Instances log JSON lines; show warnings and errors, keep the rest quiet.
      if (/"level":"(warn|error)"/.test(line)) console.log(`[${i}] ${line}`)
    }
  })
  console.log(`etcd      ${cluster.etcd.endpoint}`)
  for (const x of cluster.instances) console.log(`${x.id.padEnd(10)}http ${x.url}${x.grpcPort !== undefined ? `  grpc 127.0.0.1:${x.grpcPort}` : ""}`)
  console.log(`\nready: send requests to any instance, e.g. curl ${cluster.instances[0]!.url}/v1/cluster\nCtrl-C stops the cluster.`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
    for (const x of cluster.instances) x.child.once("exit", (code, signal) => console.log(`instance ${x.id} exited (${code ?? signal})`))
  })
  console.log("stopping: draining instances …")
  await cluster.stop()
  console.log("stopped")
  return 0
}

const status = async (argv: string[]): Promise<number> => {
  const a = parse(argv, { url: { type: "string", default: "http://127.0.0.1:8000" }, json: { type: "boolean" } }, help)
  if (!a) return 0
  let body: { instances: ClusterInstanceInfo[]; leader: string | null }
  try {
    const r = await fetch(new URL("/v1/cluster", a.values.url), { signal: AbortSignal.timeout(10_000) })
    if (r.status !== 200) {
      console.error(`meshkit cluster status: ${a.values.url} answered ${r.status}: ${(await r.text()).slice(0, 500)}`)
      return 1
    }
    body = (await r.json()) as typeof body
  } catch (e) {
    console.error(`meshkit cluster status: cannot reach ${a.values.url}: ${errorMessage(e)}`)
    return 1
  }
  if (a.values.json) {
    console.log(JSON.stringify(body, null, 2))
    return 0
  }
  const rows = body.instances.map((i) => [
    i.id + (i.id === body.leader ? " *" : ""),
    i.address,
    `${formatBytes(i.usedBytes)} / ${formatBytes(i.capacityBytes)}`,
    String(i.models.length),
    String(i.loading.length),
    String(i.inFlight),
    String(Math.round(i.rpm)),
    i.shuttingDown ? "draining" : "up"
  ])
  const head = ["instance", "address", "memory", "models", "loading", "in flight", "rpm", "state"]
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c]!)).join("  ")
  console.log(line(head))
  for (const r of rows) console.log(line(r))
  console.log(`\n${body.instances.length} instance${body.instances.length === 1 ? "" : "s"}; * = leader${body.leader === null ? " (none elected)" : ""}`)
  return 0
}
