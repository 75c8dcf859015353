"""The page's stylesheet: light and dark (``prefers-color-scheme``), 1280 px down to a phone."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root{color-scheme:light dark;--bg:#fbfcfe;--panel:#fff;--fg:#1c2430;--muted:#5f6b7a;
--line:#dfe4ec;--grid:#eceff4;--accent:#2f6fdf;--err:#d4343b;--warn:#b96f00;--ok:#23925a;
--c0:#3b73d9;--c1:#e8742a;--c2:#2a9d6f;--c3:#c2417e;--c4:#7a5bd6;--c5:#a8811b;--c6:#1f96b8;
--c7:#7d8796;--ttft:rgba(255,255,255,.55);--agent:#7a5bd6;--model:#3b73d9;
--chain:#8a95a6;--tool:#2a9d6f;--retrieval:#a8811b;--app:#b8c0cc}
@media (prefers-color-scheme:dark){:root{--bg:#0e1116;--panel:#161b22;--fg:#e4e8ee;
--muted:#98a3b3;--line:#2b323d;--grid:#222933;--accent:#6ea1ff;--err:#ff6b6b;--warn:#f0a63a;
--ok:#4cc38a;--c0:#6ea1ff;--c1:#ff9a57;--c2:#4cc38a;--c3:#f07ab0;--c4:#a890ff;--c5:#e0b84a;
--c6:#4fc3e6;--c7:#a3adbb;--ttft:rgba(14,17,22,.55);--agent:#a890ff;--model:#6ea1ff;
--chain:#6b7686;--tool:#4cc38a;--retrieval:#e0b84a;
--app:#4a5360}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);overflow-wrap:anywhere;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 24px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px}
h3{font-size:15px;margin:0;display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.sub,.meta,.caption,.hint{color:var(--muted);margin:2px 0}
.meta,.caption,.hint{font-size:12.5px}
nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:14px 0 0;font-size:13px}
nav a{color:var(--accent);text-decoration:none}
.notice{border:1px solid var(--warn);border-left-width:4px;background:var(--panel);
padding:8px 12px;border-radius:6px;margin:10px 0}
.notice.bad{border-color:var(--err)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(104px,1fr));gap:8px;
margin-top:16px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:19px;font-variant-numeric:tabular-nums;white-space:nowrap}
.card span{color:var(--muted);font-size:12px}
.card.err b{color:var(--err)}.card.warn b{color:var(--warn)}
table.models{width:100%;border-collapse:collapse;background:var(--panel);
border:1px solid var(--line);border-radius:8px;font-variant-numeric:tabular-nums}
.models th,.models td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:right}
.models th{font-size:12px;color:var(--muted);font-weight:600}
.models th:first-child,.models td:first-child{text-align:left}
.models tr.all td{font-weight:650}
.models tr:last-child td{border-bottom:0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));
gap:14px}
.chart{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:8px;
padding:10px 12px;min-width:0}
.chart figcaption{font-weight:600;margin-bottom:4px}
.chart>svg{display:block;width:100%;height:auto}
.chart .empty{color:var(--muted)}
svg text{fill:var(--muted);font-size:11.5px;font-family:inherit}
svg .unit{font-weight:600}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .s{fill:none;stroke:var(--c);stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
svg .dash{stroke-dasharray:5 4}
svg .f{fill:var(--c)}
svg .bar{opacity:.85}
.c0{--c:var(--c0)}.c1{--c:var(--c1)}.c2{--c:var(--c2)}.c3{--c:var(--c3)}
.c4{--c:var(--c4)}.c5{--c:var(--c5)}.c6{--c:var(--c6)}.c7{--c:var(--c7)}
.legend{display:flex;flex-wrap:wrap;gap:2px 14px;list-style:none;margin:4px 0 0;padding:0;
font-size:12.5px}
.legend li{display:flex;align-items:center;gap:5px}
.key{flex:none;display:inline-block;width:22px;border-top:2.5px solid var(--c)}
.key.dash{border-top-style:dashed}.key.box{width:11px;height:11px;border:0;border-radius:2px;
background:var(--c)}
.trace{background:var(--panel);border:1px solid var(--line);border-radius:8px;
padding:12px 14px;margin:0 0 14px}
.trace header{margin-bottom:6px}
.total{color:var(--muted);font-weight:500}
.badge{font-size:11px;text-transform:uppercase;letter-spacing:.04em;padding:1px 7px;
border-radius:10px;border:1px solid currentColor;color:var(--ok)}
.badge.error{color:var(--err)}.badge.cancelled,.badge.abandoned{color:var(--warn)}
.wf{--name:minmax(0,18rem);--facts:minmax(0,18rem);font-size:12.5px}
.wf-axis,.span>summary{display:grid;grid-template-columns:var(--name) minmax(0,1fr) var(--facts);
gap:10px;align-items:center}
.wf-axis{color:var(--muted);font-size:11px;height:18px;border-bottom:1px solid var(--line)}
.wf-axis .track{position:relative;height:100%}
.wf-axis .track span{position:absolute;top:1px;transform:translateX(-50%);white-space:nowrap}
.wf-axis .track span:first-child{transform:none}
.wf-axis .track span:last-child:not(:first-child){transform:translateX(-100%)}
.span>summary{list-style:none;cursor:pointer;padding:3px 0;border-bottom:1px solid var(--grid)}
.span>summary::-webkit-details-marker{display:none}
.span>summary:hover{background:var(--grid)}
.name{padding-left:calc(var(--depth,0) * 14px);white-space:nowrap;overflow:hidden;
text-overflow:ellipsis}
.span .name::before{content:"▸";color:var(--muted);margin-right:4px;display:inline-block;width:.8em}
.span[open]>summary .name::before{content:"▾"}
.kind{font-size:10px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);
margin-right:6px}
.orphan{margin-left:6px;color:var(--warn);font-size:11px}
.track{position:relative;height:14px;min-width:0}
.span .track{background:var(--ticks)}
.bar{position:absolute;top:0;bottom:0;min-width:2px;border-radius:3px;background:var(--app);
overflow:hidden}
.model .bar{background:var(--model)}.chain .bar{background:var(--chain)}
.tool .bar{background:var(--tool)}.agent .bar{background:var(--agent)}
.retrieval .bar{background:var(--retrieval)}
.ttft{position:absolute;left:0;top:0;bottom:0;background:var(--ttft);
border-right:2px solid var(--fg)}
.error>summary .bar{background:var(--err)}
.cancelled>summary .bar,.abandoned>summary .bar{background:repeating-linear-gradient(135deg,
var(--warn) 0 4px,color-mix(in srgb,var(--warn) 40%,transparent) 4px 8px)}
.facts{color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;
font-variant-numeric:tabular-nums}
.error>summary .facts{color:var(--err)}
.attrs{padding:6px 0 10px calc(var(--depth,0) * 14px + 18px)}
.attrs table{border-collapse:collapse;width:100%;table-layout:fixed}
.attrs th{width:34%;text-align:left;font-weight:500;color:var(--muted);vertical-align:top;
padding:2px 8px 2px 0}
.attrs td{padding:2px 0}
.attrs pre{margin:0;white-space:pre-wrap;font:12px ui-monospace,SFMono-Regular,Menlo,monospace;
max-height:16em;overflow:auto}
.legend-kinds{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12.5px;color:var(--muted);
margin:0 0 10px}
.legend-kinds i{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
@media (max-width:900px){
table.models thead{display:none}
table.models,.models tbody,.models tr,.models td{display:block}
.models tr{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));
padding:8px 10px;border-bottom:1px solid var(--line)}
.models td{border:0;text-align:left;padding:2px 4px}
.models td::before{content:attr(data-label);display:block;font-size:11px;color:var(--muted)}
.models td:first-child{grid-column:1/-1;font-weight:650}
.models td:first-child::before{display:none}}
@media (max-width:640px){
main{padding:16px 12px 40px}
.wf-axis{grid-template-columns:minmax(0,1fr)}
.wf-axis .name,.wf-axis .facts{display:none}
.span>summary{display:flex;flex-wrap:wrap;gap:2px 8px}
.span .name{flex:1 1 auto;max-width:100%}
.span .facts{flex:0 1 auto;margin-left:auto;max-width:100%}
.span .track{flex:1 0 100%;order:3}
.attrs{padding-left:8px}
svg text{font-size:16px}
.attrs th{width:40%}}
"""
