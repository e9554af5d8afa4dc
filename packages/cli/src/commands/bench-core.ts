import { runCoreBench } from "@meshkit/bench"

/** `meshkit bench-core`: the eviction policy micro-benchmark; its flags are parsed by runCoreBench (also runnable as a script). */
export const run = (argv: string[]): Promise<number> => runCoreBench(argv)
