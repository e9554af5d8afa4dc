import { parseArgs, type ParseArgsConfig } from "node:util"

/** The message of anything thrown (node's own errors, ours, or a non-Error value). */
export const errorMessage = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

/** A mistake in how a command was called: printed as its message, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** node:util parseArgs with errors turned into UsageError and `--help` handled uniformly. */
export const parse = <O extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: O,
  help: string,
  allowPositionals = false
) => {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(help)
    return undefined
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (e) {
    throw new UsageError(`${errorMessage(e)}\n\n${help}`)
  }
}
