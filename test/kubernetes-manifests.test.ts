// deploy/kubernetes: each overlay is resolved as kustomize would (test/support/kustomize.ts), and
// every object it builds is validated against the Kubernetes OpenAPI schemas (kubernetes-models;
// the ServiceMonitor against the Prometheus Operator's, @kubernetes-models/prometheus-operator).
// The meshkit containers' args go through `meshkit serve`'s own flag table and config Schema
// (with the ConfigMap as the --config file), and what the pod spec derives from them — memory,
// grace period, ports, probes — is checked against the values they give.
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import { flagSpec, resolveServeArgs } from "@meshkit/cli/serve"
import { resolveConfig, type ServerConfig } from "@meshkit/server"
import { unknownFields } from "./support/k8s-strict-fields.js"
import { build, type K8sObject } from "./support/kustomize.js"

const root = join(import.meta.dirname, "..")
const kdir = join(root, "deploy/kubernetes")
const overlays = ["single", "cluster"] as const

/** The fixed overhead above --memory the pod's memory is sized with (reports/BENCHMARKS.md, density). */
const OVERHEAD_MIB = 320
/** Flags the manifests use that land with another part of issue 13 (tenancy): validated once the flag table knows them. */
const PENDING_FLAGS = new Set(["--tenants"])
/** What Kubernetes substitutes for $(VAR) in args, for the check. */
const POD_ENV: Record<string, string> = { POD_NAME: "meshkit-0", POD_IP: "10.0.0.5" }

const modelPath = (o: K8sObject): string => {
  if (o.apiVersion === "monitoring.coreos.com/v1") return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${o.kind}`
  return `kubernetes-models/${o.apiVersion}/${o.kind}`
}

/** The object's API type as kubernetes-models' TypeScript declaration (for the unknown-field walk). */
const declarationOf = (o: K8sObject): string => join(root, "node_modules", `${modelPath(o)}.d.ts`)

const validate = async (o: K8sObject): Promise<void> => {
  const unknown = unknownFields(o, declarationOf(o))
  if (unknown.length > 0) throw new Error(`${o.kind}/${o.metadata.name}: unknown fields ${unknown.join(", ")}`)
  const mod = (await import(/* @vite-ignore */ modelPath(o))) as Record<string, new (data: unknown) => { validate(): void }>
  const Model = mod[o.kind]
  if (Model === undefined) throw new Error(`no model for ${o.apiVersion} ${o.kind}`)
  new Model(o).validate()
}

type Container = {
  name: string
  args?: string[]
  env?: Array<{ name: string; value?: string }>
  ports?: Array<{ name: string; containerPort: number }>
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  readinessProbe?: { httpGet?: { path: string; port: string | number } }
  livenessProbe?: { httpGet?: { path: string; port: string | number } }
  startupProbe?: { grpc?: { port: number } }
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
  volumeMounts?: Array<{ name: string; mountPath: string }>
}
type PodSpec = {
  containers: Container[]
  volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number }
}
type Workload = K8sObject & { spec: { replicas?: number; serviceName?: string; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } } }

const meshkitWorkload = (objects: K8sObject[]): Workload => {
  const w = objects.filter((o) => (o.kind === "Deployment" || o.kind === "StatefulSet") && o.metadata.name === "meshkit")
  expect(w).toHaveLength(1)
  return w[0] as Workload
}

const mebibytes = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q)
  if (!m) throw new Error(`memory quantity ${q}: expected Mi or Gi`)
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1)
}

/** The file a path in the container reads, from the pod's ConfigMap and Secret volumes. */
const fileInPod = (objects: K8sObject[], pod: PodSpec, c: Container, path: string): string => {
  const mount = c.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`))
  if (!mount) throw new Error(`${path}: not under any volume mount`)
  const key = path.slice(mount.mountPath.length + 1)
  const vol = pod.volumes?.find((v) => v.name === mount.name)
  if (vol?.configMap) {
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === vol.configMap!.name) as (K8sObject & { data?: Record<string, string> }) | undefined
    const text = cm?.data?.[key]
    if (text === undefined) throw new Error(`${path}: ConfigMap ${vol.configMap.name} has no key ${key}`)
    return text
  }
  if (vol?.secret) {
    const s = objects.find((o) => o.kind === "Secret" && o.metadata.name === vol.secret!.secretName) as (K8sObject & { stringData?: Record<string, string> }) | undefined
    const text = s?.stringData?.[key]
    if (text === undefined) throw new Error(`${path}: Secret ${vol.secret.secretName} has no key ${key}`)
    return text
  }
  throw new Error(`${path}: volume ${mount.name} is neither a ConfigMap nor a Secret`)
}

/** The args as the flag table accepts them; the pending flags (and their value) set aside while the table lacks them. */
const serveArgs = (args: string[]): { args: string[]; pending: string[] } => {
  const known = new Set(Object.keys(flagSpec).map((f) => `--${f}`))
  const out: string[] = []
  const pending: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!.replace(/\$\((\w+)\)/g, (_, v: string) => POD_ENV[v] ?? `$(${v})`)
    if (PENDING_FLAGS.has(a) && !known.has(a)) {
      pending.push(a, args[i + 1]!)
      i++
      continue
    }
    out.push(a)
  }
  return { args: out, pending }
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)

describe.each(overlays)("deploy/kubernetes/overlays/%s", (overlay) => {
  const objects = build(join(kdir, "overlays", overlay))

  it("every object validates against the Kubernetes schemas", async () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`)
    for (const needed of ["ConfigMap/meshkit-config", "Secret/meshkit-tenants", "Service/meshkit", "Service/meshkit-grpc", "PodDisruptionBudget/meshkit", "ServiceMonitor/meshkit"])
      expect(kinds).toContain(needed)
    for (const o of objects) await expect(validate(o), `${o.kind}/${o.metadata.name}`).resolves.toBeUndefined()
  })

  it("the meshkit container's args are flags meshkit serve accepts, and the ConfigMap is a valid meshkit config", async () => {
    const pod = meshkitWorkload(objects).spec.template.spec
    const c = pod.containers.find((x) => x.name === "meshkit")!
    const { args, pending } = serveArgs(c.args!)
    // the tenants file comes from the Secret, so binding 0.0.0.0 is not open to anyone
    const tenantsAt = c.args!.indexOf("--tenants")
    expect(tenantsAt).toBeGreaterThanOrEqual(0)
    const tenants = parseYaml(fileInPod(objects, pod, c, c.args![tenantsAt + 1]!)) as { tenants: Array<Record<string, string>> }
    expect(tenants.tenants.length).toBeGreaterThan(0)
    for (const t of tenants.tenants) {
      // digests only: no field holds anything but the name and a sha256
      for (const [k, v] of Object.entries(t)) if (k !== "name") expect(`${k}: ${v}`).toMatch(/^tokenSha256: [0-9a-f]{64}$/)
    }
    for (const p of pending.filter((_, i) => i % 2 === 0)) expect(Object.keys(flagSpec)).not.toContain(p.slice(2))

    const config = (await resolveServeArgs(args, {
      env: {},
      readConfig: async (path) => parseYaml(fileInPod(objects, pod, c, path)) as Record<string, unknown>
    })) as ServerConfig
    expect(config).toMatchObject({ host: "0.0.0.0", port: 8000, grpcPort: 8001, models: "/models", dataDir: "/data" })
    // the ConfigMap alone, decoded by the server's config Schema (unknown keys are errors there)
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "meshkit-config") as K8sObject & { data: Record<string, string> }
    const fromFile = resolveConfig({ file: { path: "meshkit-config/config.yaml", values: parseYaml(cm.data["config.yaml"]!) as Record<string, unknown> } })
    expect(fromFile.eviction).toBeDefined()
    if (overlay === "cluster") {
      expect(config.etcd).toBe("http://meshkit-etcd:2379")
      expect(config.instanceId).toBe("meshkit-0")
      expect(config.advertise).toBe("http://10.0.0.5:8000")
      expect(fromFile.placement).toEqual({ name: "consistent-hash-bounded", options: { epsilon: 0.25 } })
    } else {
      expect(config.etcd).toBeUndefined()
    }
  })

  it("sizes, probes and stops the pod from the server's own settings", async () => {
    const w = meshkitWorkload(objects)
    const pod = w.spec.template.spec
    const c = pod.containers.find((x) => x.name === "meshkit")!
    const config = (await resolveServeArgs(serveArgs(c.args!).args, { env: {}, readConfig: async (p) => parseYaml(fileInPod(objects, pod, c, p)) as Record<string, unknown> })) as ServerConfig
    // memory: requests = limits = --memory + the measured overhead
    const wantMiB = config.memory / 2 ** 20 + OVERHEAD_MIB
    expect(mebibytes(c.resources!.requests!.memory!)).toBe(wantMiB)
    expect(mebibytes(c.resources!.limits!.memory!)).toBe(wantMiB)
    // the overhead figure holds with the server's heap trim, which the container must not turn off
    expect(config.heapTrim).toBe(true)
    // stop: preStop pause, then SIGTERM drains within --drain-timeout, with room to spare
    const pause = Number(c.lifecycle!.preStop!.exec!.command.at(-1))
    expect(c.lifecycle!.preStop!.exec!.command[0]).toBe("sleep")
    expect(pod.terminationGracePeriodSeconds!).toBeGreaterThanOrEqual(config.drainTimeout / 1000 + pause + 10)
    // ports and probes
    expect(c.ports).toEqual([
      { name: "http", containerPort: config.port, protocol: "TCP" },
      { name: "grpc", containerPort: config.grpcPort, protocol: "TCP" }
    ])
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/v2/health/ready", port: "http" })
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/v2/health/live", port: "http" })
    expect(c.startupProbe?.grpc).toEqual({ port: config.grpcPort })
    // the image's user (Dockerfile: USER 10001)
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 })
    // Prometheus: annotations on the pods, a ServiceMonitor on the REST Service
    expect(w.spec.template.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": String(config.port), "prometheus.io/path": "/metrics" })
  })

  it("Services, the PodDisruptionBudget and the ServiceMonitor select the meshkit pods and name real ports", () => {
    const w = meshkitWorkload(objects)
    const labels = w.spec.template.metadata.labels
    expect(selects(w.spec.selector.matchLabels, labels)).toBe(true)
    const svc = (name: string) => objects.find((o) => o.kind === "Service" && o.metadata.name === name) as K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string }>; clusterIP?: string } }
    for (const [name, port, target] of [["meshkit", 8000, "http"], ["meshkit-grpc", 8001, "grpc"]] as const) {
      const s = svc(name)
      expect(selects(s.spec.selector, labels), name).toBe(true)
      expect(s.spec.ports.map((p) => [p.port, p.targetPort])).toEqual([[port, target]])
    }
    const pdb = objects.find((o) => o.kind === "PodDisruptionBudget") as K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true)
    const sm = objects.find((o) => o.kind === "ServiceMonitor") as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> } }
    const scraped = objects.filter((o) => o.kind === "Service" && selects(sm.spec.selector.matchLabels, o.metadata.labels ?? {}))
    expect(scraped.map((o) => o.metadata.name)).toEqual(["meshkit"])
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: "http", path: "/metrics" })])
    if (w.kind === "StatefulSet") {
      // the governing Service is headless; etcd is the one --etcd names
      expect(svc(w.spec.serviceName!).spec.clusterIP).toBe("None")
      expect(w.spec.replicas).toBeGreaterThanOrEqual(2)
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining(["Service/meshkit-etcd", "StatefulSet/meshkit-etcd"]))
    }
  })
})

describe("the manifest checks are not vacuous", () => {
  it("the schema validation rejects a malformed object", async () => {
    const [deployment] = build(join(kdir, "overlays", "single")).filter((o) => o.kind === "Deployment")
    const broken = { ...deployment!, spec: { ...(deployment!.spec as object), replicas: "three" } } as K8sObject
    await expect(validate(broken)).rejects.toThrow(/replicas/)
    const sm = build(join(kdir, "base")).find((o) => o.kind === "ServiceMonitor")!
    await expect(validate({ ...sm, spec: { ...(sm.spec as object), endpoints: "http" } } as K8sObject)).rejects.toThrow(/endpoints/)
    // a misspelt field deep in the pod template is caught too (the schemas alone accept extra keys)
    const typo = structuredClone(deployment!) as K8sObject & { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } }
    typo.spec.template.spec.containers[0]!.readinesProbe = typo.spec.template.spec.containers[0]!.readinessProbe
    await expect(validate(typo)).rejects.toThrow(/unknown fields \/spec\/template\/spec\/containers\/0\/readinesProbe/)
  })

  it("meshkit serve's flag table rejects a flag it does not know", async () => {
    await expect(resolveServeArgs(["--no-such-flag", "x"], { env: {} })).rejects.toThrow(/unknown flag --no-such-flag/)
  })
})
