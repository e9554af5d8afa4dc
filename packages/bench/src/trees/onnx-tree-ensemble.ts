import type { xgboost } from "@meshkit/server"

/**
 * The same forest as an ONNX model with one `ai.onnx.ml.TreeEnsembleRegressor` node (ml opset
 * 3), so onnxruntime can run exactly the model meshkit's evaluator runs: `x < threshold` goes to
 * the true (left) branch, NaN follows `nodes_missing_value_tracks_true` = XGBoost's
 * default_left, leaves add their value (times dart's weight) to `base_values` = the base margin,
 * and the objective's sigmoid is `post_transform: LOGISTIC`. Only single-output forests with an
 * identity or sigmoid transform are converted (what the bench needs).
 *
 * Encoded by hand (a dozen protobuf fields: ModelProto 1,2,7,8; GraphProto 1,2,11,12; NodeProto
 * 1,2,3,4,5,7; AttributeProto 1,3,4,7,8,9,20; ValueInfo/TypeProto/TensorShapeProto), because
 * the onnx.proto subset meshkit ships has no attributes.
 */
export const forestToOnnx = (f: xgboost.Forest, inputName: string, outputName: string): Uint8Array => {
  if (f.numGroup !== 1) throw new Error("forestToOnnx: only single-output forests")
  const post = f.objective.transform === "sigmoid" ? "LOGISTIC" : f.objective.transform === "identity" ? "NONE" : undefined
  if (post === undefined) throw new Error(`forestToOnnx: objective ${f.objective.name} has no ONNX post_transform here`)
  const treeIds: number[] = []
  const nodeIds: number[] = []
  const featureIds: number[] = []
  const values: number[] = []
  const modes: string[] = []
  const trueIds: number[] = []
  const falseIds: number[] = []
  const missingTrue: number[] = []
  const tTree: number[] = []
  const tNode: number[] = []
  const tWeight: number[] = []
  for (let t = 0; t < f.numTrees; t++) {
    const start = f.root[t]!
    const end = t + 1 < f.numTrees ? f.root[t + 1]! : f.child.length
    for (let n = start; n < end; n++) {
      const c = f.child[n]!
      const leaf = c < n // a leaf leads to itself (child = n − 1); a split's children come after it
      treeIds.push(t)
      nodeIds.push(n - start)
      featureIds.push(leaf ? 0 : f.feature[n]!)
      values.push(leaf ? 0 : f.threshold[n]!)
      modes.push(leaf ? "LEAF" : "BRANCH_LT")
      trueIds.push(leaf ? 0 : c - start)
      falseIds.push(leaf ? 0 : c + 1 - start)
      missingTrue.push(leaf ? 0 : f.defaultLeft[n]!)
      if (leaf) {
        tTree.push(t)
        tNode.push(n - start)
        tWeight.push(f.weight[t] === 1 ? f.leafValue[n]! : Math.fround(f.leafValue[n]! * f.weight[t]!))
      }
    }
  }
  const attrs = [
    attrInts("nodes_treeids", treeIds),
    attrInts("nodes_nodeids", nodeIds),
    attrInts("nodes_featureids", featureIds),
    attrFloats("nodes_values", values),
    attrStrings("nodes_modes", modes),
    attrInts("nodes_truenodeids", trueIds),
    attrInts("nodes_falsenodeids", falseIds),
    attrInts("nodes_missing_value_tracks_true", missingTrue),
    attrInts("target_treeids", tTree),
    attrInts("target_nodeids", tNode),
    attrInts("target_ids", tTree.map(() => 0)),
    attrFloats("target_weights", tWeight),
    attrInt("n_targets", 1),
    attrFloats("base_values", [f.baseMargin]),
    attrString("aggregate_function", "SUM"),
    attrString("post_transform", post)
  ]
  const node = msg([str(1, inputName), str(2, outputName), str(3, "trees"), str(4, "TreeEnsembleRegressor"), ...attrs.map((a) => bytes(5, a)), str(7, "ai.onnx.ml")])
  const valueInfo = (name: string, dims: ReadonlyArray<number | string>) =>
    msg([
      str(1, name),
      bytes(2, msg([bytes(1, msg([varintField(1, 1 /* FLOAT */), bytes(2, msg(dims.map((d) => bytes(1, msg([typeof d === "number" ? varintField(1, d) : str(2, d)])))))]))]))
    ])
  const graph = msg([bytes(1, node), str(2, "forest"), bytes(11, valueInfo(inputName, ["N", f.numFeature])), bytes(12, valueInfo(outputName, ["N", 1]))])
  const opset = (domain: string, version: number) => msg([str(1, domain), varintField(2, version)])
  return msg([varintField(1, 8), str(2, "meshkit"), bytes(7, graph), bytes(8, opset("", 17)), bytes(8, opset("ai.onnx.ml", 3))])
}

// ---- a minimal protobuf writer ----------------------------------------------------------

const utf8 = new TextEncoder()
const varint = (v: number): number[] => {
  if (!Number.isInteger(v) || v < 0) throw new Error(`protobuf varint: ${v} is not a non-negative integer`)
  const out: number[] = []
  while (v > 0x7f) {
    out.push((v % 128) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}
const key = (field: number, wire: number) => varint(field * 8 + wire)
const varintField = (field: number, v: number): Uint8Array => Uint8Array.from([...key(field, 0), ...varint(v)])
const bytes = (field: number, b: Uint8Array): Uint8Array => msg([Uint8Array.from([...key(field, 2), ...varint(b.length)]), b])
const str = (field: number, s: string): Uint8Array => bytes(field, utf8.encode(s))
const msg = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, (at += p.length) - p.length)
  return out
}
const packedVarints = (field: number, vs: ReadonlyArray<number>): Uint8Array => bytes(field, Uint8Array.from(vs.flatMap(varint)))
const packedFloats = (field: number, vs: ReadonlyArray<number>): Uint8Array => bytes(field, new Uint8Array(Float32Array.from(vs).buffer))

// AttributeProto: name 1, i 3, s 4, floats 7, ints 8, strings 9, type 20 (INT 2, STRING 3, FLOATS 6, INTS 7, STRINGS 8)
const attrInts = (name: string, vs: ReadonlyArray<number>) => msg([str(1, name), packedVarints(8, vs), varintField(20, 7)])
const attrFloats = (name: string, vs: ReadonlyArray<number>) => msg([str(1, name), packedFloats(7, vs), varintField(20, 6)])
const attrStrings = (name: string, vs: ReadonlyArray<string>) => msg([str(1, name), ...vs.map((s) => str(9, s)), varintField(20, 8)])
const attrInt = (name: string, v: number) => msg([str(1, name), varintField(3, v), varintField(20, 2)])
const attrString = (name: string, v: string) => msg([str(1, name), str(4, v), varintField(20, 3)])
