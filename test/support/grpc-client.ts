import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"

/**
 * gRPC clients for the protocol tests, built the way other clients build theirs: from a .proto
 * file (theirs or the standard one) with @grpc/proto-loader, never from the server's own code
 * paths beyond the proto file it ships.
 */
export const LOADER: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, oneofs: true }

export type AnyClient = grpc.Client & Record<string, Function>

/** A client of `service` (e.g. "grpc.health.v1.Health") from the proto file(s) at `protoPath`. */
export const clientFrom = (protoPath: string | string[], service: string, port: number, options: protoLoader.Options = LOADER): AnyClient => {
  const def = protoLoader.loadSync(protoPath, options)
  let node: any = grpc.loadPackageDefinition(def)
  for (const part of service.split(".")) node = node[part]
  const Ctor = node as grpc.ServiceClientConstructor
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 << 20,
    "grpc.max_send_message_length": 64 << 20
  }) as unknown as AnyClient
}

/** A unary call as a promise. */
export const unary = <T = any>(client: AnyClient, method: string, request: unknown, metadata = new grpc.Metadata()): Promise<T> =>
  new Promise((resolve, reject) => client[method]!(request, metadata, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))))

/** Write `text` as `name` in `dir` and return its path (for client-side proto files). */
export const writeProto = async (dir: string, name: string, text: string): Promise<string> => {
  const p = join(dir, name)
  await writeFile(p, text)
  return p
}
