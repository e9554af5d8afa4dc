import { existsSync } from "node:fs"
import { isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium, type Page } from "playwright-core"

/** Debian's chromium; MESHKIT_CHROMIUM overrides it for machines that keep it elsewhere. */
export const CHROMIUM_PATH = process.env.MESHKIT_CHROMIUM ?? "/usr/bin/chromium"

export const CHROMIUM_ARGS: ReadonlyArray<string> = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Throws, with what to do about it, when the browser is missing: a report check must never pass unseen. */
export const requireChromium = (path: string = CHROMIUM_PATH): void => {
  if (!existsSync(path)) {
    throw new Error(
      `headless Chromium not found at ${path}: install Debian's chromium ` +
        `(apt-get update && apt-get install -y chromium), or set MESHKIT_CHROMIUM to its path`
    )
  }
}

export interface PageVisit {
  readonly page: Page
  /** requests for anything but the file itself and data: URLs — a self-contained report makes none */
  readonly externalRequests: ReadonlyArray<string>
  /** uncaught page errors and console errors */
  readonly errors: ReadonlyArray<string>
}

const toUrl = (target: string): string =>
  /^[a-z][a-z0-9+.-]*:/i.test(target) ? target : pathToFileURL(isAbsolute(target) ? target : resolve(target)).href

/**
 * Opens a file path or URL in headless Chromium, runs fn, and always closes the browser.
 * Requests that leave the page's own file are recorded and aborted.
 */
export const withHeadlessPage = async <A>(
  target: string,
  fn: (visit: PageVisit) => Promise<A>,
  opts: { readonly width?: number; readonly height?: number } = {}
): Promise<A> => {
  requireChromium()
  const url = toUrl(target)
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] })
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 } })
    const externalRequests: string[] = []
    const errors: string[] = []
    await page.route("**/*", (route) => {
      const u = route.request().url()
      if (u === url || u.startsWith("data:")) return route.continue()
      externalRequests.push(u)
      return route.abort()
    })
    page.on("pageerror", (e) => errors.push(e.message))
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text())
    })
    await page.goto(url, { waitUntil: "load" })
    return await fn({ page, externalRequests, errors })
  } finally {
    await browser.close()
  }
}

export interface RenderedSeries {
  readonly name: string
  readonly d: string
  /** SVG path length in user units (getTotalLength) */
  readonly length: number
}

export interface RenderedChart {
  readonly id: string
  /** bounding box on the page, CSS px */
  readonly width: number
  readonly height: number
  readonly series: ReadonlyArray<RenderedSeries>
}

export interface RenderCheck {
  readonly charts: ReadonlyArray<RenderedChart>
  readonly externalRequests: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  /** what a reader would see as broken: empty boxes, empty or zero-length series paths, requests, errors */
  readonly problems: ReadonlyArray<string>
}

// The few DOM shapes used inside page.evaluate (the repo compiles without the DOM lib).
interface DomElement {
  getAttribute(name: string): string | null
  getClientRects(): { length: number }
  getBoundingClientRect(): { width: number; height: number }
  querySelectorAll(selector: string): ArrayLike<DomElement>
  getTotalLength(): number
}

/**
 * Measures every `svg.mk-chart` and its `path.mk-series` as the browser laid them out. Of a chart's
 * wide and narrow twins (data-variant) only the one the page shows at this width is measured.
 */
export const measureCharts = (page: Page): Promise<RenderedChart[]> =>
  page.evaluate(() => {
    const doc = (globalThis as unknown as { document: DomElement }).document
    const shown = (svg: DomElement) => svg.getAttribute("data-variant") === null || svg.getClientRects().length > 0
    return Array.from(doc.querySelectorAll("svg.mk-chart")).filter(shown).map((svg) => {
      const box = svg.getBoundingClientRect()
      return {
        id: svg.getAttribute("data-chart-id") ?? "",
        width: box.width,
        height: box.height,
        series: Array.from(svg.querySelectorAll("path.mk-series")).map((p) => ({
          name: p.getAttribute("data-series") ?? "",
          d: p.getAttribute("d") ?? "",
          length: p.getTotalLength()
        }))
      }
    })
  })

/**
 * Opens a report and checks what the shared report test pins down: each chart has a non-zero box,
 * each series path a non-empty `d` and non-zero length, and the page fetched nothing and threw
 * nothing. Optionally saves a full-page screenshot (PNG).
 */
export const checkChartsRendered = (htmlPath: string, opts: { readonly screenshot?: string } = {}): Promise<RenderCheck> =>
  withHeadlessPage(htmlPath, async ({ page, externalRequests, errors }) => {
    const charts = await measureCharts(page)
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: true })
    const problems: string[] = []
    for (const c of charts) {
      if (!(c.width > 0 && c.height > 0)) problems.push(`chart "${c.id}" has an empty box (${c.width}×${c.height})`)
      for (const s of c.series) {
        if (s.d.trim() === "") problems.push(`chart "${c.id}" series "${s.name}" has an empty path`)
        else if (!(s.length > 0)) problems.push(`chart "${c.id}" series "${s.name}" has a zero-length path`)
      }
    }
    for (const r of externalRequests) problems.push(`external request: ${r}`)
    for (const e of errors) problems.push(`page error: ${e}`)
    return { charts, externalRequests: [...externalRequests], errors: [...errors], problems }
  })

export interface RenderedTable {
  /** the table's own width and the width of the box it scrolls in, CSS px */
  readonly tableWidth: number
  readonly boxWidth: number
  /** computed overflow-x of the box: "auto" or "scroll" when it scrolls inside itself */
  readonly boxOverflowX: string
  /** computed position of the first header and body cells: "sticky" keeps the first column in view */
  readonly firstColumnPosition: string
  /** right edge of the box against the viewport: never beyond it */
  readonly boxRight: number
}

export interface RenderedAxes {
  readonly id: string
  /** tick labels drawn on the axes (text of `g.mk-axes text` without the axis titles) */
  readonly tickLabels: ReadonlyArray<string>
  readonly axisTitles: ReadonlyArray<string>
  /** the right edge of the box the chart is shown in (its figure; it scrolls inside on a phone) */
  readonly right: number
}

export interface PageLayout {
  readonly innerWidth: number
  /** document width: above innerWidth the page scrolls sideways (something is cut off) */
  readonly scrollWidth: number
  readonly tables: ReadonlyArray<RenderedTable>
  readonly axes: ReadonlyArray<RenderedAxes>
  /** text of the lead section (`section.mk-lead`), "" without one */
  readonly leadText: string
}

interface LayoutElement extends DomElement {
  readonly textContent: string | null
  readonly classList: { contains(c: string): boolean }
  getBoundingClientRect(): { width: number; height: number; right: number }
  querySelector(selector: string): LayoutElement | null
  querySelectorAll(selector: string): ArrayLike<LayoutElement>
  closest(selector: string): LayoutElement | null
}

/** What a reader would find cut off or unreadable: page width, tables in their boxes, axis labels. */
export const measureLayout = (page: Page): Promise<PageLayout> =>
  page.evaluate(() => {
    const g = globalThis as unknown as {
      innerWidth: number
      document: LayoutElement & { documentElement: { scrollWidth: number } }
      getComputedStyle(e: LayoutElement): { overflowX: string; position: string }
    }
    const doc = g.document
    const tables = Array.from(doc.querySelectorAll(".mk-table-wrap")).map((box) => {
      const table = box.querySelector("table")
      const first = box.querySelector("tbody td:first-child") ?? box.querySelector("th:first-child")
      return {
        tableWidth: table ? table.getBoundingClientRect().width : 0,
        boxWidth: box.getBoundingClientRect().width,
        boxOverflowX: g.getComputedStyle(box).overflowX,
        firstColumnPosition: first ? g.getComputedStyle(first).position : "",
        boxRight: box.getBoundingClientRect().right
      }
    })
    const shown = (svg: LayoutElement) => svg.getAttribute("data-variant") === null || svg.getClientRects().length > 0
    const axes = Array.from(doc.querySelectorAll("svg.mk-chart")).filter(shown).map((svg) => {
      const texts = Array.from(svg.querySelectorAll("g.mk-axes text"))
      return {
        id: svg.getAttribute("data-chart-id") ?? "",
        tickLabels: texts.filter((t) => !t.classList.contains("mk-axis-label")).map((t) => t.textContent ?? ""),
        axisTitles: texts.filter((t) => t.classList.contains("mk-axis-label")).map((t) => t.textContent ?? ""),
        right: (svg.closest("figure") ?? svg).getBoundingClientRect().right
      }
    })
    const lead = doc.querySelector("section.mk-lead")
    return { innerWidth: g.innerWidth, scrollWidth: doc.documentElement.scrollWidth, tables, axes, leadText: lead?.textContent ?? "" }
  })
