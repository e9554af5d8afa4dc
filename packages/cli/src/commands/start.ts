import { run as policies } from "./policies.js"

/** The main job. Until the simulator lands, it lists the policies users can choose from. */
export const run = async (argv: string[]): Promise<number> => policies(argv)
