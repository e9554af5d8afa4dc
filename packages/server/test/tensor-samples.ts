import type { Datatype, Tensor, TensorMeta } from "../src/runtimes/runtime.js"

/** One example tensor per datatype, with values at the edges of each type's range (shared by the REST and gRPC codec tests). */
export const samples: Record<Datatype, Tensor["data"]> = {
  BOOL: new Uint8Array([1, 0, 0, 1]),
  UINT8: new Uint8Array([0, 1, 254, 255]),
  UINT16: new Uint16Array([0, 1, 65534, 65535]),
  UINT32: new Uint32Array([0, 1, 4294967294, 4294967295]),
  UINT64: new BigUint64Array([0n, 1n, 2n ** 64n - 2n, 2n ** 64n - 1n]),
  INT8: new Int8Array([-128, -1, 0, 127]),
  INT16: new Int16Array([-32768, -1, 0, 32767]),
  INT32: new Int32Array([-2147483648, -1, 0, 2147483647]),
  INT64: new BigInt64Array([-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]),
  FP16: new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7bff]),
  FP32: new Float32Array([0.1, -2.5, 3.4028234663852886e38, 1e-45]),
  FP64: new Float64Array([0.1, -2.5, Number.MAX_VALUE, 5e-324]),
  BYTES: ["", "a", "héllo ✓", "x".repeat(300)]
}
export const datatypes = Object.keys(samples) as Datatype[]
/** every sample is 2 × 2; models declare [-1, 2] */
export const shape = [2, 2]
export const metaFor = (datatype: Datatype, name = "x"): TensorMeta[] => [{ name, datatype, shape: [-1, 2] }]
