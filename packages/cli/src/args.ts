import { parseArgs, type ParseArgsConfig } from "node:util"

/** The message of anything thrown (node's own errors, ours, or a non-Error value). */
export const errorMessage = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

/** A mistake in how a command was called: printed as its message and a hint to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** node's parseArgs messages, shortened where they run long ("Unknown option '--x'. To specify a positional…"). */
const shortParseError = (e: unknown): string => {
  const m = errorMessage(e)
  const unknown = /^Unknown option '([^']+)'/.exec(m)
  return unknown ? `unknown flag ${unknown[1]}` : m
}

/** node:util parseArgs with errors turned into UsageError (the message alone; main adds the hint) and `--help` handled uniformly. */
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
    throw new UsageError(shortParseError(e))
  }
}
