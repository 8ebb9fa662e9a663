/**
 * The report's style sheet, inlined in a <style> element (the page's CSP
 * allows inline styles and nothing else). Sized for a 1280x800 window and,
 * through the print rules, for A4 PDFs made by Electron's printToPDF.
 */
export const REPORT_CSS = `
* { box-sizing: border-box; }
html { color-scheme: light; }
body { margin: 0; background: #f1f5f9; color: #0f172a;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 40px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 20px; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 1px solid #e2e8f0; }
h3 { font-size: 15px; margin: 18px 0 6px; }
section { margin-top: 30px; }
figure { margin: 8px 0 0; }
figcaption { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
.meta { margin: 0; color: #475569; }
.note { color: #475569; font-size: 13.5px; }
.summary { font-size: 19px; line-height: 1.45; margin: 18px 0 16px; padding: 14px 18px;
  background: #eff6ff; border-left: 4px solid #2563eb; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid #e2e8f0; border-radius: 6px; padding: 10px 14px; }
.card .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { font-size: 13px; color: #475569; }
.warning { background: #fffbeb; border: 1px solid #f59e0b; border-radius: 6px; padding: 10px 16px; }
section.warning h2 { border: 0; padding: 0; margin: 0; font-size: 17px; }
section.warning ul { margin: 6px 0 0; padding-left: 20px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 5px 12px 5px 0; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }
table.data thead th { font-size: 13px; color: #475569; }
table.compare { width: 100%; }
table.compare th[scope="row"] { font-weight: 500; }
table.kv th { font-weight: 500; color: #334155; padding-right: 20px; }
.num { text-align: right !important; padding-right: 24px !important; white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; }
.charts-2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 28px; align-items: start; }
.matrices { display: flex; flex-wrap: wrap; gap: 28px; }
table.confusion { font-size: 12px; }
table.confusion th, table.confusion td { padding: 3px 6px; min-width: 34px; text-align: right; border: 1px solid #f1f5f9; }
table.confusion th { font-weight: 500; color: #334155; max-width: 110px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.confusion .corner { font-size: 11px; color: #64748b; }
table.confusion td.zero { color: #cbd5e1 !important; }
table.confusion .total { color: #64748b; background: #f8fafc; }
figure.samples { margin-top: 24px; }
.charts-2 table.kv { width: 100%; }
.grid-figure { display: flex; gap: 8px; align-items: stretch; }
.grid-labels { display: flex; flex-direction: column; padding: 2px 0; }
.grid-labels > span { flex: 1; display: flex; align-items: center; justify-content: flex-end; min-width: 0; }
.grid-labels > span > span { font-size: 12px; color: #334155; max-width: 140px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.grid-figure img { display: block; max-width: calc(100% - 150px); height: auto; image-rendering: pixelated; }
@page { size: A4; margin: 12mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  section { margin-top: 18px; }
  figure, table, .card, .summary, .warning, tr, .keep { break-inside: avoid; }
  h2, h3, figcaption { break-after: avoid; }
  .summary { font-size: 14pt; }
}
`;
