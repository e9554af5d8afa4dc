import { describe, expect, it } from "vitest"
import { requireChromium } from "../src/browser.js"

describe("the headless-browser check", () => {
  it("fails loudly, saying how to install Chromium, when the browser is missing", () => {
    expect(() => requireChromium("/nonexistent/chromium")).toThrow(
      /headless Chromium not found at \/nonexistent\/chromium: install Debian's chromium \(apt-get update && apt-get install -y chromium\)/
    )
  })
})
