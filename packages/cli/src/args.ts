import { parseArgs, type ParseArgsConfig } from "node:util"

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
    throw new UsageError(`${(e as Error).message}\n\n${help}`)
  }
}
