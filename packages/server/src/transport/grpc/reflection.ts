/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl and other generic tools
 * can list and call the services without the .proto files. @grpc/reflection (by the grpc-js
 * team) answers from the same proto-loader definitions the server is built from, so what it
 * describes is exactly what the listener serves.
 */
import type * as grpc from "@grpc/grpc-js"
import { ReflectionService } from "@grpc/reflection"
import { loadGrpcDefinition, loadHealthDefinition } from "../kserve-v2/index.js"

export const addReflection = (server: Pick<grpc.Server, "addService">): void => {
  const pkg = { ...loadGrpcDefinition().packageDefinition, ...loadHealthDefinition().packageDefinition }
  new ReflectionService(pkg).addToServer(server)
}
