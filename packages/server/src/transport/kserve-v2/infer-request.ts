import type { Tensor } from "../../tensor.js"

/** A parameter value as KServe v2 allows it (JSON or gRPC InferParameter). */
export type ParameterValue = boolean | number | string | bigint

/** An output the client asked for; `binary` = return its data with the binary extension. */
export interface RequestedOutput {
  readonly name: string
  readonly binary: boolean
}

/** A decoded inference request, the same for REST (JSON / binary) and gRPC. */
export interface InferRequest {
  readonly id?: string
  readonly parameters?: Readonly<Record<string, ParameterValue>>
  readonly inputs: Tensor[]
  /** Outputs the client named, in its order; absent = all outputs. */
  readonly outputs?: RequestedOutput[]
  /**
   * REST: request-level `parameters.binary_data_output: true` (every output in binary).
   * gRPC: the request carried raw_input_contents, so answer with raw_output_contents.
   */
  readonly binaryOutput: boolean
}
