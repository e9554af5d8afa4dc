import { mkdir, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { renderHtml } from "./html.js"
import { renderMarkdown } from "./markdown.js"
import type { ReportSpec } from "./types.js"

export interface WrittenReport {
  readonly html: string
  readonly markdown: string
}

/** Written beside its final name, then renamed: a reader never sees half a report. */
const writeWhole = async (path: string, text: string): Promise<void> => {
  const partial = `${path}.partial-${process.pid}`
  await writeFile(partial, text, "utf8")
  await rename(partial, path)
}

/**
 * `<dir>/<name>.html` and `<dir>/<name>.md` (name "report" unless told), the Markdown pointing at the
 * HTML file beside it. Creates dir. Returns the two paths.
 */
export const writeReport = async (dir: string, spec: ReportSpec, opts: { readonly name?: string } = {}): Promise<WrittenReport> => {
  const name = opts.name ?? "report"
  await mkdir(dir, { recursive: true })
  const html = join(dir, `${name}.html`)
  const markdown = join(dir, `${name}.md`)
  await writeWhole(html, renderHtml(spec))
  await writeWhole(markdown, renderMarkdown(spec, { htmlFile: `${name}.html` }))
  return { html, markdown }
}
