/**
 * XGBoost objectives as prediction needs them (XGBoost 1.7 semantics): how `base_score` (stored
 * in probability space in learner_model_param) becomes the starting margin (`ProbToMargin`), and
 * how margins become `Booster.predict`'s output (`PredTransform`). Arithmetic is float32 like
 * XGBoost's (`Math.fround` after each step).
 */

export type Transform =
  | "identity" // margin as is
  | "sigmoid" // 1 / (1 + e^-x)
  | "exp" // e^x
  | "hinge" // x > 0 ? 1 : 0
  | "softprob" // softmax over the classes of a row
  | "softmax" // index of the largest class margin

export interface Objective {
  readonly name: string
  readonly transform: Transform
  /** base_score (probability space) → starting margin. */
  readonly margin: (baseScore: number) => number
}

const f = Math.fround
const identity = (b: number) => f(b)
/** LogisticRegression::ProbToMargin: -log(1/b - 1); base_score must lie in (0, 1). */
const logit = (b: number) => {
  if (!(b > 0 && b < 1)) throw new Error(`base_score ${b} must lie in (0, 1) for a logistic objective`)
  return f(-Math.log(f(f(1 / b) - 1)))
}
/** Poisson / gamma / tweedie ProbToMargin: log(b); base_score must be positive. */
const log = (b: number) => {
  if (!(b > 0)) throw new Error(`base_score ${b} must be positive for a log-link objective`)
  return f(Math.log(b))
}

const table: ReadonlyArray<Objective> = [
  ...["reg:squarederror", "reg:linear", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror"].map((name) => ({ name, transform: "identity" as const, margin: identity })),
  ...["rank:pairwise", "rank:ndcg", "rank:map"].map((name) => ({ name, transform: "identity" as const, margin: identity })),
  { name: "reg:logistic", transform: "sigmoid", margin: logit },
  { name: "binary:logistic", transform: "sigmoid", margin: logit },
  // the margin starts at base_score itself (checked against XGBoost 1.7 with base_score 0.3)
  { name: "binary:logitraw", transform: "identity", margin: identity },
  { name: "binary:hinge", transform: "hinge", margin: identity },
  { name: "count:poisson", transform: "exp", margin: log },
  { name: "reg:gamma", transform: "exp", margin: log },
  { name: "reg:tweedie", transform: "exp", margin: log },
  { name: "multi:softprob", transform: "softprob", margin: identity },
  { name: "multi:softmax", transform: "softmax", margin: identity }
]

export const OBJECTIVES: ReadonlyMap<string, Objective> = new Map(table.map((o) => [o.name, o]))

/**
 * Apply `transform` to `rows × groups` margins in place (identity, sigmoid, exp, hinge), or into
 * a new array for the multi-class ones (softmax: one class index per row).
 */
export const applyTransform = (transform: Transform, m: Float32Array, rows: number, groups: number): Float32Array => {
  switch (transform) {
    case "identity":
      return m
    case "sigmoid":
      // float32 at each step like XGBoost's 1.0f / (1.0f + expf(-x)) (the store rounds the quotient)
      for (let i = 0; i < m.length; i++) m[i] = 1 / Math.fround(1 + Math.fround(Math.exp(-m[i]!)))
      return m
    case "exp":
      for (let i = 0; i < m.length; i++) m[i] = Math.exp(m[i]!)
      return m
    case "hinge":
      for (let i = 0; i < m.length; i++) m[i] = m[i]! > 0 ? 1 : 0
      return m
    case "softprob":
      for (let r = 0; r < rows; r++) {
        const o = r * groups
        let max = m[o]!
        for (let g = 1; g < groups; g++) if (m[o + g]! > max) max = m[o + g]!
        let sum = 0 // a double, as XGBoost's Softmax sums in double
        for (let g = 0; g < groups; g++) {
          const e = Math.fround(Math.exp(Math.fround(m[o + g]! - max)))
          m[o + g] = e
          sum += e
        }
        const s = Math.fround(sum)
        for (let g = 0; g < groups; g++) m[o + g] = m[o + g]! / s
      }
      return m
    case "softmax": {
      const out = new Float32Array(rows)
      for (let r = 0; r < rows; r++) {
        const o = r * groups
        let best = 0
        for (let g = 1; g < groups; g++) if (m[o + g]! > m[o + best]!) best = g
        out[r] = best
      }
      return out
    }
  }
}
