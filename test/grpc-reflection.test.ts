import type * as grpc from "@grpc/grpc-js"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as protobuf from "protobufjs"
import descriptorExt from "protobufjs/ext/descriptor/index.js"
import { afterAll, describe, expect, it } from "vitest"
import { clientFrom, type AnyClient } from "./support/grpc-client.js"
import { withServer } from "./server-harness.js"

/**
 * gRPC server reflection as grpcurl uses it: `grpcurl -plaintext HOST:PORT list` sends
 * ServerReflectionInfo {list_services: "*"}; `describe` sends file_containing_symbol and
 * decodes the FileDescriptorProtos it gets back. Both protocol versions (grpc.reflection.v1
 * and v1alpha) are asked, with clients built from the standard reflection protos.
 */
const require = createRequire(import.meta.url)
const PROTO_DIR = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto")
const versions = ["v1", "v1alpha"] as const
const clients: Partial<Record<(typeof versions)[number], AnyClient>> = {}

const fixture = withServer("grpc-reflection", {
  models: { alpha: [64 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--grpc-port", "0", "--log-level", "warn"],
  ready: async ({ server }) => {
    for (const v of versions) {
      clients[v] = clientFrom(join(PROTO_DIR, `grpc/reflection/${v}/reflection.proto`), `grpc.reflection.${v}.ServerReflection`, server.grpcPort!)
    }
  }
})
afterAll(() => {
  for (const c of Object.values(clients)) c?.close()
})

/** One request on a ServerReflectionInfo stream, its one answer. */
const ask = (client: AnyClient, request: Record<string, unknown>): Promise<any> =>
  new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<unknown, any>
    call.once("data", (m: unknown) => {
      resolve(m)
      call.end()
    })
    call.once("error", reject)
    call.write({ host: "", ...request })
  })

const FileDescriptorProto = (descriptorExt as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto

describe.each(versions)("grpc.reflection.%s", (v) => {
  it("lists the inference and health services", async () => {
    const m = await ask(clients[v]!, { list_services: "*" })
    const names = (m.list_services_response.service as Array<{ name: string }>).map((s) => s.name)
    expect(names).toEqual(expect.arrayContaining(["inference.GRPCInferenceService", "grpc.health.v1.Health"]))
  })

  it("describes inference.GRPCInferenceService with its methods, streaming included", async () => {
    const m = await ask(clients[v]!, { file_containing_symbol: "inference.GRPCInferenceService" })
    const files = (m.file_descriptor_response.file_descriptor_proto as Buffer[]).map((b) => FileDescriptorProto.decode(b) as any)
    const service = files.flatMap((f) => f.service ?? []).find((s: any) => s.name === "GRPCInferenceService")
    expect(service).toBeDefined()
    const methods = Object.fromEntries(service.method.map((x: any) => [x.name, x]))
    expect(Object.keys(methods)).toEqual(expect.arrayContaining(["ModelInfer", "ModelStreamInfer", "ModelConfig", "ModelStatistics", "RepositoryModelLoad"]))
    expect(methods.ModelStreamInfer).toMatchObject({ clientStreaming: true, serverStreaming: true })
  })

  it("answers NOT_FOUND inside the stream for a symbol it does not have", async () => {
    const m = await ask(clients[v]!, { file_containing_symbol: "no.such.Symbol" })
    expect(m.error_response).toMatchObject({ error_code: 5 })
  })
})
