import * as grpc from "@grpc/grpc-js"
import { afterAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import { json, withServer } from "./server-harness.js"

/**
 * Defect: an error echoed the model name as sent, whatever its length: over gRPC a 100 KB name
 * went into the `grpc-message` trailer (over 8 KiB it breaks other calls on the same channel for
 * some clients). Echoed names are now cut to 200 characters + "…", on every transport.
 */
let client: grpc.Client & Record<string, Function>
const f = withServer("names", {
  models: { m: [64 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "128MiB", "--log-level", "warn"],
  ready: async ({ server }) => {
    const { GRPCInferenceService } = loadGrpcDefinition()
    client = new GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as any
  }
})
afterAll(() => client?.close())

const call = (method: string, req: unknown): Promise<{ err: grpc.ServiceError | null; res: any }> =>
  new Promise((resolve) => client[method]!(req, new grpc.Metadata(), (err: grpc.ServiceError | null, res: any) => resolve({ err, res })))

const long = "n".repeat(100_000)

describe("echoed model names", () => {
  it("gRPC: a 100 KB name comes back cut, and the channel keeps working", async () => {
    for (const method of ["ModelMetadata", "ModelReady", "ModelInfer"]) {
      const { err } = await call(method, { name: long, inputs: [] })
      expect(err, method).not.toBe(null)
      expect(err!.details.length, method).toBeLessThan(400)
      if (err!.code === grpc.status.NOT_FOUND) expect(err!.details).toMatch(/n{200}…/)
      else expect(err!.details).not.toMatch(/n{201}/)
    }
    const ok = await call("ModelMetadata", { name: "m" })
    expect(ok.err).toBe(null)
    expect(ok.res.name).toBe("m")
  })

  it("REST: data plane and control plane cut long names too", async () => {
    const name = "q".repeat(8_000)
    for (const path of [`/v2/models/${name}`, `/v2/models/${name}/ready`, `/v2/models/${name}/versions/${name}`, `/v1/models/${name}`, `/v1/vmodels/${name}`]) {
      const res = await fetch(`${f.server.url}${path}`)
      expect(res.status, path.slice(0, 20)).toBe(404)
      const err = (await json(res)).error as string
      expect(err.length, path.slice(0, 20)).toBeLessThan(600)
      // the control plane's router refuses ids over 100 characters as "no such endpoint": nothing echoed
      if (path.startsWith("/v2")) expect(err).toMatch(/q{200}…/)
      else expect(err).not.toMatch(/q{201}/)
    }
    const inf = await fetch(`${f.server.url}/v2/models/${name}/infer`, { method: "POST", body: "{}" })
    expect(inf.status).toBe(404)
    expect(((await json(inf)).error as string).length).toBeLessThan(400)
  })
})
