import { OBJECTIVES, type Objective } from "./objectives.js"
import { decodeUbjson, UbjsonError } from "./ubjson.js"

/**
 * An XGBoost model (its own JSON or UBJSON file, as `Booster.save_model` writes them) flattened
 * for prediction. Every tree's nodes are renumbered breadth-first so that a node's right child
 * is always its left child + 1, and a leaf is a node that leads to itself (child = itself − 1,
 * threshold −∞, default right): walking a tree is then exactly `depth` branch-free steps
 * (./predict.ts). One typed array per field across the whole forest.
 */
export interface Forest {
  readonly objective: Objective
  readonly booster: "gbtree" | "dart"
  readonly numFeature: number
  /** output groups: classes for multi:*, targets for multi-target regression, else 1 */
  readonly numGroup: number
  readonly baseMargin: number
  readonly numTrees: number
  /** per tree: its root's node index, its depth, its output group, its weight (dart's weight_drop, else 1) */
  readonly root: Int32Array
  readonly depth: Int32Array
  readonly group: Int32Array
  readonly weight: Float32Array
  /** per node: index of the left child (right = left + 1); a leaf n has n − 1, so it leads to itself */
  readonly child: Int32Array
  /** per node: the split's feature index (0 for a leaf) */
  readonly feature: Int32Array
  /** per node: the split condition (go left when x < threshold); −∞ for a leaf */
  readonly threshold: Float32Array
  /** per node: the leaf's value (0 for a split) */
  readonly leafValue: Float32Array
  /** per node: 1 when a missing value (NaN) goes left (0 for a leaf) */
  readonly defaultLeft: Uint8Array
}

export class ModelFormatError extends Error {}

/** Read a model file's bytes: JSON when it starts with `{` then JSON whitespace / `"` / `}`, else UBJSON. */
export const parseModelFile = (bytes: Uint8Array): Forest => {
  let doc: unknown
  if (isJsonText(bytes)) {
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes))
    } catch (e) {
      throw new ModelFormatError(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
  } else {
    try {
      doc = decodeUbjson(bytes, UNUSED_TREE_FIELDS)
    } catch (e) {
      if (e instanceof UbjsonError) throw new ModelFormatError(`neither JSON nor valid UBJSON: ${e.message}`)
      throw e
    }
  }
  return forestOf(doc)
}

/** Per-node training statistics prediction never reads (UBJSON skips them while decoding). */
const UNUSED_TREE_FIELDS: ReadonlySet<string> = new Set(["base_weights", "loss_changes", "parents", "sum_hessian"])

const isJsonText = (b: Uint8Array): boolean => {
  let i = 0
  while (i < b.length && isSpace(b[i]!)) i++
  if (b[i] !== 0x7b) return false
  // In UBJSON `{` is followed by a key length's type marker (i U I l L), `$`, `#` or `}`.
  const next = b[i + 1]
  return next === undefined || isSpace(next) || next === 0x22 /* " */ || next === 0x7d /* } */
}
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

type Obj = Record<string, unknown>
type Nums = ArrayLike<number | boolean>

const fail = (why: string): never => {
  throw new ModelFormatError(why)
}
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)
const obj = (v: unknown, path: string): Obj => (isObj(v) ? v : fail(`${path} is missing or not an object (is this an XGBoost model file?)`))
const nums = (v: unknown, path: string): Nums =>
  Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)) ? (v as unknown as Nums) : fail(`${path} is missing or not an array`)
/** learner/tree params are strings in both formats ("5E-1"); accept numbers too */
const param = (o: Obj, key: string, path: string, fallback?: number): number => {
  const v = o[key]
  if (v === undefined && fallback !== undefined) return fallback
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN
  return Number.isFinite(n) ? n : fail(`${path}.${key} is missing or not a number (${JSON.stringify(v)})`)
}
const num = (a: Nums, i: number): number => Number(a[i])

export const forestOf = (doc: unknown): Forest => {
  const learner = obj(obj(doc, "the model").learner, "learner")
  const lp = obj(learner.learner_model_param, "learner.learner_model_param")
  const objName = obj(learner.objective, "learner.objective").name
  if (typeof objName !== "string") fail("learner.objective.name is missing")
  const objective = OBJECTIVES.get(objName as string) ?? fail(`objective "${String(objName)}" is not supported (supported: ${[...OBJECTIVES.keys()].join(", ")})`)
  const numFeature = param(lp, "num_feature", "learner_model_param")
  const numClass = param(lp, "num_class", "learner_model_param", 0)
  const numTarget = param(lp, "num_target", "learner_model_param", 1)
  const numGroup = Math.max(numClass, numTarget, 1)
  if (!Number.isInteger(numFeature) || numFeature < 1) fail(`learner_model_param.num_feature is ${numFeature}`)
  let baseMargin: number
  try {
    baseMargin = objective.margin(Math.fround(param(lp, "base_score", "learner_model_param")))
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e))
  }

  const gb = obj(learner.gradient_booster, "learner.gradient_booster")
  const booster = gb.name
  let model: Obj
  let weights: Nums | undefined
  if (booster === "gbtree") model = obj(gb.model, "gradient_booster.model")
  else if (booster === "dart") {
    model = obj(obj(gb.gbtree, "gradient_booster.gbtree").model, "gradient_booster.gbtree.model")
    weights = nums(gb.weight_drop, "gradient_booster.weight_drop")
  } else return fail(`booster "${String(booster)}" is not supported (supported: gbtree, dart)`)

  const trees = model.trees
  if (!Array.isArray(trees)) return fail("gradient_booster model.trees is missing")
  const info = nums(model.tree_info, "model.tree_info")
  const numTrees = trees.length
  if (info.length !== numTrees) fail(`model.tree_info has ${info.length} entries for ${numTrees} trees`)
  if (weights && weights.length !== numTrees) fail(`weight_drop has ${weights.length} entries for ${numTrees} trees`)
  const sizeLeafVector = param(obj(model.gbtree_model_param ?? {}, "gbtree_model_param"), "size_leaf_vector", "gbtree_model_param", 0)
  if (sizeLeafVector > 0) fail("vector-leaf trees (multi_strategy) are not supported")

  let totalNodes = 0
  for (let t = 0; t < numTrees; t++) totalNodes += nums(obj(trees[t], `trees[${t}]`).left_children, `trees[${t}].left_children`).length
  const child = new Int32Array(totalNodes)
  const feature = new Int32Array(totalNodes)
  const threshold = new Float32Array(totalNodes)
  const leafValue = new Float32Array(totalNodes)
  const defaultLeft = new Uint8Array(totalNodes)
  const levels = new Int32Array(totalNodes) // scratch: each node's level
  const root = new Int32Array(numTrees)
  const depth = new Int32Array(numTrees)
  const group = new Int32Array(numTrees)
  const weight = new Float32Array(numTrees)
  let next = 0
  for (let t = 0; t < numTrees; t++) {
    const g = num(info, t)
    if (!Number.isInteger(g) || g < 0 || g >= numGroup) fail(`tree_info[${t}] = ${g} is not an output group (0..${numGroup - 1})`)
    group[t] = g
    weight[t] = weights ? num(weights, t) : 1
    root[t] = next
    next = flattenTree(obj(trees[t], `trees[${t}]`), `trees[${t}]`, numFeature, next, { child, feature, threshold, leafValue, defaultLeft, levels })
    depth[t] = levels[next - 1]! // breadth-first: the last node is on the deepest level
  }
  const cut = <T extends Int32Array | Float32Array | Uint8Array>(a: T): T => (next === totalNodes ? a : (a.slice(0, next) as T))
  return {
    objective,
    booster,
    numFeature,
    numGroup,
    baseMargin,
    numTrees,
    root,
    depth,
    group,
    weight,
    child: cut(child),
    feature: cut(feature),
    threshold: cut(threshold),
    leafValue: cut(leafValue),
    defaultLeft: cut(defaultLeft)
  }
}

interface Nodes {
  readonly child: Int32Array
  readonly feature: Int32Array
  readonly threshold: Float32Array
  readonly leafValue: Float32Array
  readonly defaultLeft: Uint8Array
  readonly levels: Int32Array
}

/** Copy one tree breadth-first from node 0 into `out` at `at`; returns the next free index. Deleted nodes are unreachable and dropped. */
const flattenTree = (tree: Obj, path: string, numFeature: number, at: number, out: Nodes): number => {
  const left = nums(tree.left_children, `${path}.left_children`)
  const right = nums(tree.right_children, `${path}.right_children`)
  const split = nums(tree.split_indices, `${path}.split_indices`)
  const cond = nums(tree.split_conditions, `${path}.split_conditions`)
  const dl = nums(tree.default_left, `${path}.default_left`)
  const n = left.length
  for (const [k, a] of [["right_children", right], ["split_indices", split], ["split_conditions", cond], ["default_left", dl]] as const) {
    if (a.length !== n) fail(`${path}.${k} has ${a.length} entries for ${n} nodes`)
  }
  const types = tree.split_type === undefined ? undefined : nums(tree.split_type, `${path}.split_type`)
  if (isObj(tree.tree_param) && param(tree.tree_param, "size_leaf_vector", `${path}.tree_param`, 0) > 1) fail(`${path} has vector leaves (multi_strategy); they are not supported`)
  if (n === 0) fail(`${path} has no nodes`)
  // queue[i] = original id of the node placed at at + i
  const queue = new Int32Array(n)
  let head = 0
  let tail = 1
  queue[0] = 0
  out.levels[at] = 0
  while (head < tail) {
    const id = queue[head]!
    const slot = at + head
    head++
    const l = num(left, id)
    if (l === -1) {
      // a leaf leads to itself whatever x is: x < −∞ is false (right = child + 1 = slot), and so is NaN's default
      out.child[slot] = slot - 1
      out.feature[slot] = 0
      out.threshold[slot] = -Infinity
      out.leafValue[slot] = num(cond, id)
      out.defaultLeft[slot] = 0
      continue
    }
    const r = num(right, id)
    if (!(l > 0 && l < n && r > 0 && r < n && l !== r)) fail(`${path}: node ${id} has children ${l}, ${r} outside the tree's ${n} nodes`)
    if (tail + 2 > n) fail(`${path}: nodes are shared or form a cycle`)
    if (types && num(types, id) !== 0) fail(`${path}: node ${id} is a categorical split; categorical features are not supported`)
    const fi = num(split, id)
    if (!Number.isInteger(fi) || fi < 0 || fi >= numFeature) fail(`${path}: node ${id} splits on feature ${fi}, but the model has ${numFeature} features`)
    out.child[slot] = at + tail
    out.feature[slot] = fi
    out.threshold[slot] = num(cond, id)
    out.leafValue[slot] = 0
    out.defaultLeft[slot] = num(dl, id) ? 1 : 0
    out.levels[at + tail] = out.levels[at + tail + 1] = out.levels[slot]! + 1
    queue[tail++] = l
    queue[tail++] = r
  }
  return at + tail
}
