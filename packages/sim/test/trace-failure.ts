import { expect } from "vitest"
import { type Trace, TraceError, materialize } from "../src/trace/index.js"

/** The TraceError a trace fails with when read to the end (the test fails if it reads cleanly). */
export const failure = async (trace: Trace): Promise<TraceError> => {
  const err = await materialize(trace).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(TraceError)
  return err as TraceError
}
