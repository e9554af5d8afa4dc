/** The codecs' error lives with the others (../../errors.ts); re-exported for the codec's users. */
export { InvalidRequest, invalid } from "../../errors.js"
