import { afterAll, describe, expect, it } from "vitest"
import { GRPC_PROTO_PATH } from "@meshkit/server"
import { clientFrom, type AnyClient, unary, writeProto } from "./support/grpc-client.js"
import { repositoryIndex, withServer } from "./server-harness.js"

/**
 * RepositoryModelLoad / RepositoryModelUnload from both clients that call them. KServe's
 * proto (kserve/kserve python/kserve/kserve/protocol/grpc/grpc_predict_v2.proto) has
 * `model_name = 1` in the request and `model_name = 1, isLoaded = 2` in the answer; Triton's
 * (triton-inference-server/common protobuf/grpc_service.proto) has `repository_name = 1,
 * model_name = 2` and an empty answer. The KServe client below is built from a proto with
 * KServe's layout, so its requests are the bytes KServe's Python client sends.
 */
const KSERVE_PROTO = `syntax = "proto3";
package inference;
service GRPCInferenceService {
  rpc RepositoryModelLoad(RepositoryModelLoadRequest) returns (RepositoryModelLoadResponse) {}
  rpc RepositoryModelUnload(RepositoryModelUnloadRequest) returns (RepositoryModelUnloadResponse) {}
}
message RepositoryModelLoadRequest { string model_name = 1; }
message RepositoryModelLoadResponse { string model_name = 1; bool isLoaded = 2; }
message RepositoryModelUnloadRequest { string model_name = 1; }
message RepositoryModelUnloadResponse { string model_name = 1; bool isUnloaded = 2; }
`

let kserve: AnyClient
let triton: AnyClient

const fixture = withServer("kserve-repo", {
  models: { alpha: [128 * 1024, 1], beta: [128 * 1024, 2] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--grpc-port", "0", "--log-level", "warn"],
  ready: async ({ dir, server }) => {
    kserve = clientFrom(await writeProto(dir, "kserve_predict_v2.proto", KSERVE_PROTO), "inference.GRPCInferenceService", server.grpcPort!)
    // Triton's layout is the one the server ships (field numbers as in grpc_service.proto).
    triton = clientFrom(GRPC_PROTO_PATH, "inference.GRPCInferenceService", server.grpcPort!)
  }
})
afterAll(() => {
  kserve?.close()
  triton?.close()
})

describe("RepositoryModelLoad / Unload", () => {
  it("loads and unloads a model named in field 1 (KServe's layout), answering KServe's fields", async () => {
    expect((await repositoryIndex(fixture.server)).alpha).toBe("UNAVAILABLE")
    const loaded = await unary(kserve, "RepositoryModelLoad", { model_name: "alpha" })
    expect(loaded).toEqual({ model_name: "alpha", isLoaded: true })
    expect((await repositoryIndex(fixture.server)).alpha).toBe("READY")
    const unloaded = await unary(kserve, "RepositoryModelUnload", { model_name: "alpha" })
    expect(unloaded).toEqual({ model_name: "alpha", isUnloaded: true })
    expect((await repositoryIndex(fixture.server)).alpha).toBe("UNAVAILABLE")
  })

  it("uses field 2 when set (Triton's layout), with or without a repository name in field 1", async () => {
    await unary(triton, "RepositoryModelLoad", { repository_name: "", model_name: "beta" })
    expect((await repositoryIndex(fixture.server)).beta).toBe("READY")
    await unary(triton, "RepositoryModelUnload", { repository_name: "models", model_name: "beta" })
    expect((await repositoryIndex(fixture.server)).beta).toBe("UNAVAILABLE")
    // a repository name alone is KServe's model name: field 1 names the model
    await unary(triton, "RepositoryModelLoad", { repository_name: "beta" })
    expect((await repositoryIndex(fixture.server)).beta).toBe("READY")
  })

  it("answers NOT_FOUND for an unknown model and INVALID_ARGUMENT when no name is given", async () => {
    await expect(unary(kserve, "RepositoryModelLoad", { model_name: "nope" })).rejects.toMatchObject({ code: 5, details: expect.stringContaining('"nope"') })
    await expect(unary(kserve, "RepositoryModelLoad", {})).rejects.toMatchObject({ code: 3, details: "model name is required" })
  })
})
