/** The message of anything thrown (node's own errors, ours, or a non-Error value). */
export const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)
