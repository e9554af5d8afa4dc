import { openTrace, type TraceSource } from "../trace/index.js"

/** What the default memory bounds and the time estimate need from the trace. */
export interface TraceSurvey {
  readonly requests: number
  readonly models: number
  readonly largestModelBytes: number
  /** sum of the sizes of every model the trace requests */
  readonly totalModelBytes: number
}

/** One streaming pass over the trace (no simulation): memory bounded by the model table. */
export const surveyTrace = async (source: TraceSource): Promise<TraceSurvey> => {
  const trace = openTrace(source)
  let requests = 0
  for await (const chunk of trace.chunks()) requests += chunk.length
  let largest = 0
  let total = 0
  for (const size of trace.models.sizes) {
    if (size > largest) largest = size
    total += size
  }
  return { requests, models: trace.models.sizes.length, largestModelBytes: largest, totalModelBytes: total }
}
