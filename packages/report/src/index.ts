// The report kit shared by simulator, benchmark and fidelity reports: one style, one chart component.
// The headless-browser check lives in "@meshkit/report/browser" (test-only: it loads playwright-core).
export type { AxisFormat, ChartSpec, ReportSpec, Section, Series, TableSpec } from "./types.js"
export { renderChartSvg, type ChartOptions } from "./chart.js"
export { renderHtml } from "./html.js"
export { renderMarkdown, type MarkdownOptions } from "./markdown.js"
export { formatCompact, formatDuration, formatDurationShort, formatNumber, formatPercent } from "./format.js"
export { escapeXml, escapeMarkdownCell } from "./escape.js"
export { PALETTE } from "./palette.js"
export { writeReport, type WrittenReport } from "./write.js"
