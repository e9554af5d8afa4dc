/**
 * What an error message may carry to a caller, on every transport. Two rules:
 *
 * - names echoed back are cut: a caller can send a 100 KB model name, and copying it into the
 *   answer (into gRPC's `grpc-message` trailer, over 8 KiB, it breaks other calls on the same
 *   channel for some clients) helps nobody. Any run of more than ECHO_LIMIT characters without a
 *   space or quote is cut to ECHO_LIMIT + "…", and the whole message to MESSAGE_LIMIT.
 * - absolute paths on this server are not shown (a load error names the file it could not read;
 *   data-plane callers learn its name, not where the server keeps it).
 *
 * Messages are short and this runs only on errors, so the regexes cost nothing on the hit path.
 */
export const ECHO_LIMIT = 200
const MESSAGE_LIMIT = 1000

/** `name` as an error message may quote it. */
export const echoName = (name: string): string => (name.length > ECHO_LIMIT ? `${name.slice(0, ECHO_LIMIT)}…` : name)

const LONG_RUN = new RegExp(`[^\\s"'\`]{${ECHO_LIMIT + 1},}`, "g")
// A path after a space, quote, "(" or "=" (so the path of a URL, after its host, is kept).
const ABSOLUTE_PATH = /(^|[\s"'(=])\/(?:[^\s"'()/]+\/)+([^\s"'()/]+)/g

export const publicMessage = (message: string): string => {
  let m = message.length > ECHO_LIMIT ? message.replace(LONG_RUN, (run) => `${run.slice(0, ECHO_LIMIT)}…`) : message
  m = m.replace(ABSOLUTE_PATH, (_all, lead: string, file: string) => `${lead}…/${file}`)
  return m.length > MESSAGE_LIMIT ? `${m.slice(0, MESSAGE_LIMIT)}…` : m
}
