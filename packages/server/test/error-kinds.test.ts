import * as grpc from "@grpc/grpc-js"
import { describe, expect, it } from "vitest"
import {
  BadRequest, Conflict, CopyGone, DownloadFailed, GRPC_STATUS, HTTP_STATUS, InvalidRequest, kindOf, LoadFailed, ModelNotFound, ModelTooLarge,
  Overloaded, PayloadTooLarge, retryAfterOf, RuntimeError, STATUS_LABEL, Unavailable
} from "../src/index.js"

/** Every error is tagged once with a kind; each transport maps kinds in its own table. */
describe("error kinds", () => {
  it("each error says its kind, and the REST status is the one the API promises", () => {
    const cases: Array<[unknown, number]> = [
      [new BadRequest({ message: "" }), 400],
      [new InvalidRequest({ message: "" }), 400],
      [new RuntimeError({ kind: "input", message: "" }), 400],
      [new DownloadFailed({ message: "", mismatch: true }), 400],
      [new ModelNotFound({ message: "" }), 404],
      [new Conflict({ message: "" }), 409],
      [new PayloadTooLarge({ message: "" }), 413],
      [new Overloaded({ message: "" }), 429],
      [new DownloadFailed({ message: "", mismatch: false }), 502],
      [new Unavailable({ message: "" }), 503],
      [new LoadFailed({ message: "" }), 503],
      [new CopyGone({ message: "" }), 503],
      [new RuntimeError({ kind: "load", message: "" }), 503],
      [new ModelTooLarge({ message: "" }), 507],
      [new RuntimeError({ kind: "infer", message: "" }), 500],
      [new Error("a bug"), 500],
      ["not even an error", 500]
    ]
    for (const [err, status] of cases) expect(HTTP_STATUS[kindOf(err)]).toBe(status)
  })

  it("metric labels and the REST table agree, so both transports count a kind under one status", () => {
    for (const [kind, status] of Object.entries(HTTP_STATUS)) expect(STATUS_LABEL[kind as keyof typeof STATUS_LABEL]).toBe(String(status))
  })

  it("gRPC maps the same kinds to its codes", () => {
    expect(GRPC_STATUS[kindOf(new ModelNotFound({ message: "" }))]).toBe(grpc.status.NOT_FOUND)
    expect(GRPC_STATUS[kindOf(new InvalidRequest({ message: "" }))]).toBe(grpc.status.INVALID_ARGUMENT)
    expect(GRPC_STATUS[kindOf(new Overloaded({ message: "" }))]).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(GRPC_STATUS[kindOf(new LoadFailed({ message: "" }))]).toBe(grpc.status.UNAVAILABLE)
    expect(GRPC_STATUS[kindOf(new Error("bug"))]).toBe(grpc.status.INTERNAL)
  })

  it("carries when to retry for overload and remembered failures", () => {
    expect(retryAfterOf(new Overloaded({ message: "" }))).toBe(1000)
    expect(retryAfterOf(new LoadFailed({ message: "", retryAfterMs: 4200 }))).toBe(4200)
    expect(retryAfterOf(new Unavailable({ message: "" }))).toBeUndefined()
    expect(retryAfterOf(new Error("x"))).toBeUndefined()
  })
})
