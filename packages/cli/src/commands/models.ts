import { formatBytes, parseBytes } from "@meshkit/core"
import { makeModels } from "@meshkit/onnx-models"
import { errorMessage, parse, UsageError } from "../args.js"

const help = `usage: meshkit models make --out DIR --count N --size SIZE [options]

Writes N synthetic ONNX models (dense FP32 MLPs: input [N, dim] → MatMul/Add/Relu → output
[N, classes]) of about SIZE each, with seeded weights: the same seed gives the same files and
every model differs. Files are DIR/<prefix>-0000.onnx, DIR/<prefix>-0001.onnx, ...

options:
  --out DIR        directory to write (created if missing)           (required)
  --count N        number of models                                  (default 1)
  --size SIZE      file size of each model, e.g. 64KiB, 4MiB, 1GiB    (default 4MiB)
  --seed S         integer seed                                      (default 1)
  --dim D          input features                                    (default 64)
  --classes K      output features                                   (default 10)
  --layers L       hidden layers                                     (default 2)
  --prefix P       file name prefix                                  (default model)
  --quiet          no progress or summary`

const int = (v: string | undefined, name: string, dflt: number, min = 1): number => {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`)
  return n
}

export const run = async (argv: string[]): Promise<number> => {
  const [sub, ...rest] = argv
  if (sub === undefined) throw new UsageError("missing subcommand: models make")
  if (sub === "--help" || sub === "-h") {
    console.log(help)
    return 0
  }
  if (sub !== "make") throw new UsageError(`unknown subcommand "models ${sub}"`)
  const a = parse(
    rest,
    {
      out: { type: "string" },
      count: { type: "string" },
      size: { type: "string" },
      seed: { type: "string" },
      dim: { type: "string" },
      classes: { type: "string" },
      layers: { type: "string" },
      prefix: { type: "string" },
      quiet: { type: "boolean" }
    },
    help
  )
  if (!a) return 0
  const v = a.values
  if (!v.out) throw new UsageError(`--out DIR is required`)
  let sizeBytes: number
  try {
    sizeBytes = parseBytes(v.size ?? "4MiB")
  } catch (e) {
    throw new UsageError(`--size: ${errorMessage(e)}`)
  }
  const count = int(v.count, "count", 1)
  const prefix = v.prefix ?? "model"
  if (!/^[\w.-]+$/.test(prefix)) throw new UsageError(`--prefix may use letters, digits, "_", "-" and "." only, got "${prefix}"`)
  const tty = process.stderr.isTTY && !v.quiet
  const started = performance.now()
  let lastDraw = 0
  const made = await makeModels({
    outDir: v.out,
    count,
    sizeBytes,
    seed: int(v.seed, "seed", 1, 0),
    inputDim: int(v.dim, "dim", 64),
    classes: int(v.classes, "classes", 10),
    layers: int(v.layers, "layers", 2),
    prefix,
    onProgress: tty
      ? (done, n) => {
          const now = performance.now()
          if (done === n || now - lastDraw > 100) {
            lastDraw = now
            process.stderr.write(`\rmeshkit models make: ${done}/${n} (${Math.floor((done / n) * 100)}%)`)
            if (done === n) process.stderr.write("\n")
          }
        }
      : undefined
  }).catch((e: unknown) => {
    throw e instanceof RangeError ? new UsageError(e.message) : e
  })
  if (!v.quiet) {
    const s = made.shape
    console.log(
      `wrote ${made.files.length} model${made.files.length > 1 ? "s" : ""} to ${v.out} (${formatBytes(made.totalBytes / made.files.length)} each, ` +
        `${formatBytes(made.totalBytes)} total; input [N,${s.inputDim}] → ${s.layers}×${s.hidden} → output [N,${s.classes}]) ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s`
    )
  }
  return 0
}
