import { createWriteStream, rmSync } from "node:fs"
import { once } from "node:events"
import { TraceError } from "./errors.js"
import type { Trace } from "./types.js"

/** Characters the unquoted CSV format cannot carry inside a field. */
const UNSAFE = /[,\r\n"]/

/**
 * Writes any trace in the generic CSV format (csv.ts) so that csvTrace reads back the same
 * requests: times and exec times as JavaScript's shortest round-trip decimals, NaN exec time as
 * an empty field. Returns the number of requests and of distinct models written.
 */
export const writeCsvTrace = async (trace: Trace, path: string): Promise<{ requests: number; models: number }> => {
  const out = createWriteStream(path)
  const failed = new Promise<never>((_, reject) => {
    out.once("error", (e) => reject(new TraceError({ message: `${path}: cannot write the trace: ${e.message}`, file: path })))
  })
  failed.catch(() => {}) // observed below; avoids an unhandled rejection when the trace itself fails first
  const { ids, tenants, sizes } = trace.models
  // the fixed part of each model's lines, made once per model
  const prefix: string[] = []
  let requests = 0
  try {
    await Promise.race([write(out, "time_ms,model,size_bytes,tenant,exec_ms\n"), failed])
    for await (const chunk of trace.chunks()) {
      const { timeMs, model, execMs } = chunk
      let text = ""
      for (let i = 0; i < chunk.length; i++) {
        const m = model[i]!
        let mid = prefix[m]
        if (mid === undefined) {
          mid = prefix[m] = `,${checked(ids[m]!, "model", path)},${sizes[m]},${checked(tenants[m]!, "tenant", path)},`
        }
        const e = execMs[i]!
        text += Number.isNaN(e) ? `${timeMs[i]}${mid}\n` : `${timeMs[i]}${mid}${e}\n`
      }
      requests += chunk.length
      await Promise.race([write(out, text), failed])
    }
    out.end()
    await Promise.race([once(out, "finish"), failed])
  } catch (e) {
    // a truncated trace would read back as a valid shorter one: leave no file rather than that
    out.destroy()
    await once(out, "close").catch(() => {})
    rmSync(path, { force: true })
    throw e
  }
  let models = 0
  for (const p of prefix) if (p !== undefined) models++
  return { requests, models }
}

const write = (out: NodeJS.WritableStream, text: string): Promise<void> =>
  out.write(text) ? Promise.resolve() : (once(out as never, "drain") as Promise<unknown> as Promise<void>)

const checked = (value: string, what: string, path: string): string => {
  if (value === "" || UNSAFE.test(value)) {
    throw new TraceError({
      message: `${path}: cannot write ${what} ${JSON.stringify(value)} to a CSV trace: ids must be non-empty without commas, quotes or line breaks`,
      file: path
    })
  }
  return value
}
