import { xgboost } from "@meshkit/server"
import { FEATURES, ROWS } from "./reference.js"

/**
 * Rows per second of one predictor at one batch size: calls over consecutive batches of the
 * bench rows (wrapping around), a short warm-up first (JIT, caches), then as many calls as fit
 * in `seconds` of wall time. The same procedure as xgboost-bench.py's `rate`.
 */
export const rowsPerSecond = async (call: (x: Float32Array, rows: number) => unknown, rows: Float32Array, batch: number, seconds: number): Promise<number> => {
  const n = Math.floor(ROWS / batch)
  const views = Array.from({ length: n }, (_, i) => rows.subarray(i * batch * FEATURES, (i + 1) * batch * FEATURES))
  for (let i = 0; i < Math.min(n, 20); i++) await call(views[i]!, batch)
  let calls = 0
  const t0 = performance.now()
  for (;;) {
    await call(views[calls % n]!, batch)
    calls++
    if (calls % 8 === 0 && performance.now() - t0 >= seconds * 1000) break
  }
  return (calls * batch) / ((performance.now() - t0) / 1000)
}

/** meshkit's evaluator, exactly what the runtime runs per request (validation aside). */
export const meshkitPredict = (forest: xgboost.Forest) => (x: Float32Array, rows: number) => xgboost.predict(forest, x, rows)

type Ort = typeof import("onnxruntime-node")

/**
 * onnxruntime running the forest as a TreeEnsembleRegressor (margins), plus the sigmoid in JS
 * (ORT's regressor leaves post_transform LOGISTIC unapplied, measured: it returned margins).
 */
export const ortPredict = async (ort: Ort, model: Uint8Array, threads: number | undefined) => {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    ...(threads !== undefined ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    extra: { session: { intra_op: { allow_spinning: "0" } } }
  })
  const run = async (x: Float32Array, rows: number): Promise<Float32Array> => {
    const r = await session.run({ input__0: new ort.Tensor("float32", x, [rows, FEATURES]) })
    const m = r.output__0!.data as Float32Array
    const out = new Float32Array(m.length)
    for (let i = 0; i < m.length; i++) out[i] = 1 / (1 + Math.fround(Math.exp(-m[i]!)))
    return out
  }
  return { run, release: () => session.release() }
}

/** The largest |a − b| / max(1e-6, |b|) over two predictions: a sanity check before timing. */
export const worstRelativeError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-6, Math.abs(b[i]!)))
  return worst
}
