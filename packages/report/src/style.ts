/** The one stylesheet of every meshkit report: light, print-friendly, readable on a phone. */
export const REPORT_CSS = `
:root {
  --mk-text: #1f2328; --mk-muted: #59636e; --mk-border: #d1d9e0; --mk-soft: #f6f8fa;
  --mk-accent: #0072b2; --mk-ok: #1a7f37; --mk-bad: #cf222e;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #ffffff; color: var(--mk-text);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.mk-report { max-width: 1280px; margin: 0 auto; padding: 28px 24px 48px; }
.mk-header { border-bottom: 1px solid var(--mk-border); padding-bottom: 16px; margin-bottom: 8px; }
.mk-header h1 { font-size: 26px; line-height: 1.25; margin: 0 0 4px; font-weight: 650; }
.mk-header-facts { margin-top: 20px; }
.mk-header-facts .mk-facts { margin-top: 0; }
.mk-subtitle { margin: 0 0 6px; color: var(--mk-muted); font-size: 16px; }
.mk-generated { margin: 0; color: var(--mk-muted); font-size: 13px; }
.mk-facts {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 260px), 1fr));
  gap: 6px 24px; margin: 14px 0 0; font-size: 13px;
}
.mk-facts div { min-width: 0; }
.mk-facts dt { color: var(--mk-muted); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
.mk-facts dd { margin: 0; overflow-wrap: anywhere; }
.mk-facts code, .mk-report code {
  font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  background: var(--mk-soft); border-radius: 4px; padding: 1px 4px;
}
.mk-toc { font-size: 14px; margin: 12px 0 4px; }
.mk-toc ol { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; margin: 0; padding: 0; }
.mk-toc a { color: var(--mk-accent); text-decoration: none; }
.mk-toc a:hover { text-decoration: underline; }
.mk-section { margin-top: 28px; }
.mk-section h2 {
  font-size: 19px; line-height: 1.3; margin: 0 0 10px; padding-bottom: 6px;
  border-bottom: 1px solid var(--mk-border); font-weight: 620;
}
.mk-section p { margin: 0 0 10px; max-width: 80ch; }
/* Tables scroll inside their box (never the page); the first column stays in view while they do. */
.mk-table-wrap { overflow-x: auto; width: fit-content; max-width: 100%; margin: 6px 0 14px; border: 1px solid var(--mk-border); border-radius: 6px; }
.mk-table { border-collapse: separate; border-spacing: 0; font-size: 13.5px; font-variant-numeric: tabular-nums; }
.mk-table th, .mk-table td {
  padding: 5px 12px; border-bottom: 1px solid var(--mk-border); vertical-align: top; white-space: nowrap; background: #ffffff;
}
.mk-table tbody tr:last-child td { border-bottom: none; }
.mk-table th { background: var(--mk-soft); font-weight: 600; text-align: left; }
.mk-table td.mk-wrap { white-space: normal; min-width: 18em; }
.mk-table tbody tr:nth-child(even) td { background: #fbfcfd; }
.mk-table th:first-child, .mk-table td:first-child {
  position: sticky; left: 0; z-index: 1; border-right: 1px solid var(--mk-border); font-weight: 600;
}
.mk-table .mk-right { text-align: right; white-space: nowrap; }
.mk-table .mk-ok { color: var(--mk-ok); font-weight: 600; }
.mk-table .mk-bad { color: var(--mk-bad); font-weight: 600; }
.mk-charts {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 560px), 1fr));
  gap: 18px; margin: 8px 0 6px;
}
.mk-figure { margin: 0; border: 1px solid var(--mk-border); border-radius: 6px; padding: 6px; background: #fff; min-width: 0; overflow-x: auto; }
.mk-lead { border: 2px solid var(--mk-accent); border-radius: 8px; padding: 12px 16px 4px; background: #f3f8fc; }
.mk-lead h2 { border-bottom-color: #b6d4ea; }
.mk-lead p:first-of-type { font-size: 16.5px; font-weight: 600; }
.mk-lead .mk-table th, .mk-lead .mk-table td { background: #ffffff; }
.mk-figure svg.mk-chart { display: block; width: 100%; height: auto; }
.mk-figure svg.mk-chart[data-variant="narrow"] { display: none; }
.mk-empty { color: var(--mk-muted); font-style: italic; }
@media (max-width: 600px) {
  .mk-report { padding: 16px 12px 32px; }
  /* Below this a 720-unit chart's 12px text would shrink under 7px: show its narrow twin instead. */
  .mk-figure svg.mk-chart[data-variant="wide"] { display: none; }
  .mk-figure svg.mk-chart[data-variant="narrow"] { display: block; }
  .mk-header h1 { font-size: 22px; }
}
@media print {
  body { font-size: 11pt; }
  .mk-report { max-width: none; padding: 0; }
  .mk-toc { display: none; }
  .mk-section { break-inside: auto; }
  .mk-figure, .mk-table tr { break-inside: avoid; }
  .mk-section h2 { break-after: avoid; }
  .mk-charts { grid-template-columns: 1fr 1fr; }
  .mk-figure svg.mk-chart[data-variant="wide"] { display: block; }
  .mk-figure svg.mk-chart[data-variant="narrow"] { display: none; }
}
`
