// The version is the root package.json's, embedded in the bundle by esbuild (a JSON import is
// inlined at build time), so an installed `meshkit` reports the version it was built from.
import rootPackage from "../../../package.json" with { type: "json" }

export const VERSION: string = rootPackage.version
