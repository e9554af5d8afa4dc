/**
 * Test support: headless Chromium for the report checks. Debian's package at /usr/bin/chromium is
 * installed by the harness when missing (see system-deps.ts); a browser elsewhere (MESHKIT_CHROMIUM)
 * is the user's own and only checked.
 */
import { CHROMIUM_PATH, requireChromium } from "@meshkit/report/browser"
import { ensureDebianPackage, listedDependency } from "./system-deps.js"

/** apt-get install of chromium can take minutes on a slow mirror: give the hook that calls this room. */
export const CHROMIUM_INSTALL_TIMEOUT_MS = 15 * 60_000

export const ensureChromium = (): void => {
  if (CHROMIUM_PATH === "/usr/bin/chromium") ensureDebianPackage(listedDependency("chromium"))
  requireChromium()
}
