import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"

/**
 * ModelMesh's runtime SPI (`mmesh.ModelRuntime`, the sidecar API of kserve/modelmesh's
 * model-runtime.proto) as a protobufjs JSON descriptor: the package, service, method and field
 * names and numbers a runtime built for ModelMesh expects on the wire. A descriptor in code, not
 * a .proto file beside it, so the CLI bundle needs no file at run time.
 */
const str = (id: number) => ({ type: "string", id })
const u64 = (id: number) => ({ type: "uint64", id })
const u32 = (id: number) => ({ type: "uint32", id })

const MMESH_DESCRIPTOR = {
  nested: {
    mmesh: {
      nested: {
        ModelRuntime: {
          methods: {
            loadModel: { requestType: "LoadModelRequest", responseType: "LoadModelResponse" },
            unloadModel: { requestType: "UnloadModelRequest", responseType: "UnloadModelResponse" },
            predictModelSize: { requestType: "PredictModelSizeRequest", responseType: "PredictModelSizeResponse" },
            modelSize: { requestType: "ModelSizeRequest", responseType: "ModelSizeResponse" },
            runtimeStatus: { requestType: "RuntimeStatusRequest", responseType: "RuntimeStatusResponse" }
          }
        },
        LoadModelRequest: { fields: { modelId: str(1), modelType: str(2), modelPath: str(3), modelKey: str(4) } },
        LoadModelResponse: { fields: { sizeInBytes: u64(1), maxConcurrency: u32(2) } },
        UnloadModelRequest: { fields: { modelId: str(1) } },
        UnloadModelResponse: { fields: {} },
        PredictModelSizeRequest: { fields: { modelId: str(1), modelType: str(2), modelPath: str(3), modelKey: str(4) } },
        PredictModelSizeResponse: { fields: { sizeInBytes: u64(1) } },
        ModelSizeRequest: { fields: { modelId: str(1) } },
        ModelSizeResponse: { fields: { sizeInBytes: u64(1) } },
        RuntimeStatusRequest: { fields: {} },
        RuntimeStatusResponse: {
          fields: {
            status: { type: "Status", id: 1 },
            capacityInBytes: u64(2),
            maxLoadingConcurrency: u32(3),
            modelLoadingTimeoutMs: u32(4),
            defaultModelSizeInBytes: u64(5),
            runtimeVersion: str(6),
            numericRuntimeVersion: u64(7),
            methodInfos: { keyType: "string", type: "MethodInfo", id: 8 },
            limitModelConcurrency: { type: "bool", id: 9 },
            allowAnyMethod: { type: "bool", id: 10 }
          },
          nested: {
            Status: { values: { STARTING: 0, READY: 1, FAILING: 2 } },
            MethodInfo: { fields: { idInjectionPath: { rule: "repeated", type: "uint32", id: 1 } } }
          }
        }
      }
    }
  }
}

/** The messages as this side reads them (proto-loader: longs as numbers, enums as names, defaults filled). */
export interface RuntimeStatusResponse {
  readonly status: "STARTING" | "READY" | "FAILING"
  readonly capacityInBytes: number
  readonly maxLoadingConcurrency: number
  readonly modelLoadingTimeoutMs: number
  readonly defaultModelSizeInBytes: number
  readonly runtimeVersion: string
  readonly methodInfos: Readonly<Record<string, { readonly idInjectionPath: ReadonlyArray<number> }>>
  readonly limitModelConcurrency: boolean
  readonly allowAnyMethod: boolean
}
export interface ModelRequest {
  readonly modelId: string
  readonly modelType: string
  readonly modelPath: string
  readonly modelKey: string
}
export interface LoadModelResponse {
  readonly sizeInBytes: number
  readonly maxConcurrency: number
}
export interface SizeResponse {
  readonly sizeInBytes: number
}

export const MMESH_LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, objects: true }

let cached: grpc.ServiceClientConstructor | undefined

/** The `mmesh.ModelRuntime` client constructor (built once per process). */
export const modelRuntimeClient = (): grpc.ServiceClientConstructor => {
  if (cached) return cached
  // protobufjs's JSON types mark `comment` required and have no map fields in IType: the
  // descriptor is the JSON form protobufjs itself emits (checked by the runtime tests on the wire).
  const def = protoLoader.fromJSON(MMESH_DESCRIPTOR as unknown as Parameters<typeof protoLoader.fromJSON>[0], MMESH_LOADER_OPTIONS)
  const pkg = grpc.loadPackageDefinition(def) as unknown as { mmesh: { ModelRuntime: grpc.ServiceClientConstructor } }
  cached = pkg.mmesh.ModelRuntime
  return cached
}
