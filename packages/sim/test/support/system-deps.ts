/**
 * Test support for this package's tests: the shared installer of Debian packages
 * (test/support/system-deps.ts, one list in test/support/debian-packages.json).
 */
export { ensureDebianPackage, listedDependency } from "../../../../test/support/system-deps.js"
