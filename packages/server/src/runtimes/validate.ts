import { shapeSize, type Tensor, type TensorMeta } from "../tensor.js"

/**
 * Why `inputs` cannot be fed to a model with inputs `meta`, or undefined when they can.
 * Checked before calling the runtime, so a caller mistake is a 400 with a clear message rather
 * than a runtime fault: every model input given exactly once, names known, datatypes equal,
 * same rank, fixed dimensions equal, data length = shape product.
 */
export const inputProblem = (meta: ReadonlyArray<TensorMeta>, inputs: ReadonlyArray<Tensor>): string | undefined => {
  for (let j = 0; j < inputs.length; j++) {
    const t = inputs[j]!
    const m = meta.find((x) => x.name === t.name)
    if (!m) return `unknown input "${t.name}" (the model's inputs: ${meta.map((x) => x.name).join(", ")})`
    for (let k = 0; k < j; k++) if (inputs[k]!.name === t.name) return `input "${t.name}" appears twice`
    if (t.datatype !== m.datatype) return `input "${t.name}": datatype ${t.datatype} does not match the model's ${m.datatype}`
    // An empty model shape means the model does not declare one: nothing to compare.
    if (m.shape.length > 0) {
      if (t.shape.length !== m.shape.length) {
        return `input "${t.name}": shape [${t.shape.join(",")}] has rank ${t.shape.length} but the model expects [${m.shape.join(",")}]`
      }
      for (let d = 0; d < m.shape.length; d++) {
        const want = m.shape[d]!
        if (want >= 0 && t.shape[d] !== want) {
          return `input "${t.name}": shape [${t.shape.join(",")}] does not match the model's [${m.shape.join(",")}] in dimension ${d}`
        }
      }
    }
    const n = shapeSize(t.shape)
    if (t.data.length !== n) return `input "${t.name}": data has ${t.data.length} elements but shape [${t.shape.join(",")}] needs ${n}`
  }
  if (inputs.length < meta.length) {
    const missing = meta.filter((m) => !inputs.some((t) => t.name === m.name)).map((m) => m.name)
    return `missing input${missing.length > 1 ? "s" : ""} ${missing.map((n) => `"${n}"`).join(", ")}`
  }
  return undefined
}
