import * as grpc from "@grpc/grpc-js"
import { afterAll, describe, expect, it } from "vitest"
import { HEALTH_PROTO_PATH } from "@meshkit/server"
import { clientFrom, type AnyClient, unary } from "./support/grpc-client.js"
import { withServer } from "./server-harness.js"

/**
 * grpc.health.v1.Health as Kubernetes gRPC probes and grpc_health_probe use it: Check with
 * service "" (the server) or a service name, and Watch, which streams the status as it
 * changes. The client is built from the standard health proto (grpc/grpc
 * src/proto/grpc/health/v1/health.proto; the server ships the same definition).
 */
let health: AnyClient

const fixture = withServer("grpc-health", {
  models: { alpha: [64 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--grpc-port", "0", "--log-level", "warn"],
  ready: async ({ server }) => {
    health = clientFrom(HEALTH_PROTO_PATH, "grpc.health.v1.Health", server.grpcPort!)
  }
})
afterAll(() => health?.close())

describe("grpc.health.v1.Health", () => {
  it("Check answers SERVING for the server and the inference service", async () => {
    expect(await unary(health, "Check", { service: "" })).toEqual({ status: "SERVING" })
    expect(await unary(health, "Check", {})).toEqual({ status: "SERVING" })
    expect(await unary(health, "Check", { service: "inference.GRPCInferenceService" })).toEqual({ status: "SERVING" })
  })

  it("Check answers NOT_FOUND for a service the server does not have", async () => {
    await expect(unary(health, "Check", { service: "no.such.Service" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
  })

  it("Watch streams SERVICE_UNKNOWN for an unknown service and keeps the stream open", async () => {
    const call = health.Watch({ service: "no.such.Service" }) as grpc.ClientReadableStream<{ status: string }>
    const first = await new Promise<{ status: string }>((resolve, reject) => {
      call.once("data", resolve)
      call.once("error", reject)
    })
    expect(first).toEqual({ status: "SERVICE_UNKNOWN" })
    call.cancel()
  })

  // Last: it shuts the server down.
  it("Watch sends SERVING, then NOT_SERVING once shutdown starts, then ends the stream", async () => {
    const call = health.Watch({ service: "" }) as grpc.ClientReadableStream<{ status: string }>
    const seen: string[] = []
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (m: { status: string }) => {
        seen.push(m.status)
        if (seen.length === 1) fixture.server.proc.kill("SIGTERM")
      })
      call.on("end", () => resolve())
      call.on("error", (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)))
    })
    await ended
    expect(seen).toEqual(["SERVING", "NOT_SERVING"])
    expect(await fixture.server.exited).toBe(0)
  })
})
