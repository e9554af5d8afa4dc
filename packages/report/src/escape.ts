const XML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Text for HTML/SVG content and attribute values: every name in a report may come from a user's file. */
export const escapeXml = (text: string): string => String(text).replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!)

/**
 * Inline Markdown text that GitHub shows literally: markup characters are backslash-escaped and
 * angle brackets become entities, so a `<script>` in a model name stays text.
 */
export const escapeMarkdownInline = (text: string): string =>
  String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|~])/g, "\\$1")
    .replace(/\r?\n/g, " ")

/** A GFM table cell: inline escaping (pipes included) and line breaks kept as <br>. */
export const escapeMarkdownCell = (text: string): string =>
  String(text)
    .split(/\r?\n/)
    .map(escapeMarkdownInline)
    .join("<br>")

/** A Markdown paragraph: inline escaping plus neutralising what would start a heading, list or quote. */
export const escapeMarkdownParagraph = (text: string): string =>
  String(text)
    .split(/\r?\n/)
    .map((line) => escapeMarkdownInline(line).replace(/^(\s*)([#>+-]|\d+[.)])/, "$1\\$2"))
    .join("\n")

/** A fragment id from a heading: lower-case words joined by dashes (ASCII only, never empty). */
export const slug = (text: string): string => {
  const s = String(text)
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
  return s === "" ? "section" : s
}
