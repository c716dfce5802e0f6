"""Inline style sheet and script of the HTML report (no external resource)."""

CSS = r"""
:root{--ink:#1f2933;--muted:#616e7c;--line:#d9dee4;--soft:#f4f6f8;--accent:#1f4e79;--ess:#d55e00;--clu:#0072b2}
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;font:15px/1.5 "Source Sans 3","Segoe UI","Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
header.top{background:linear-gradient(100deg,#15324f,#1f4e79 60%,#2c6a8f);color:#fff;padding:26px 40px 22px}
header.top h1{margin:0 0 4px;font-size:26px;font-weight:600;letter-spacing:.2px}
header.top p{margin:0;color:#d6e4f0;font-size:14px}
nav.toc{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:0 40px;
  display:flex;flex-wrap:wrap;gap:2px;box-shadow:0 1px 3px rgba(0,0,0,.04)}
nav.toc a{color:var(--accent);text-decoration:none;font-size:13.5px;padding:10px 10px;border-bottom:2px solid transparent}
nav.toc a:hover{border-bottom-color:var(--accent)}
main{max-width:1320px;margin:0 auto;padding:8px 40px 60px}
section{padding:18px 0 8px;border-bottom:1px solid var(--line)}
section:last-child{border-bottom:0}
h2{font-size:21px;font-weight:600;color:#15324f;margin:14px 0 6px}
h3{font-size:16px;font-weight:600;margin:18px 0 6px;color:#243b53}
p.lead{color:var(--muted);margin:2px 0 12px;max-width:980px}
p.absent{background:#fff8e6;border-left:4px solid #e0a800;padding:10px 14px;color:#5c4400;max-width:980px}
.note{color:var(--muted);font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0 14px}
.card{flex:1 1 150px;background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:24px;font-weight:600;color:#15324f}
.card span{color:var(--muted);font-size:13px}
.card.warn{background:#fff4f0;border-color:#f3c2b0}.card.warn b{color:#b23c17}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:18px 28px;align-items:start}
table{border-collapse:collapse;font-size:13.5px;margin:6px 0 12px}
th,td{padding:4px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;color:#334e68}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.wide{width:100%}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:13px;color:var(--muted);margin:4px 0 8px}
.bar{display:inline-block;height:10px;background:#9fb3c8;border-radius:2px;vertical-align:middle}
.chart{width:100%;height:auto;display:block}
.chart text{font-family:inherit}
.heat{border-collapse:separate;border-spacing:1px;font-size:11.5px}
.heat td{border:0;padding:2px 4px;min-width:30px;text-align:center;font-variant-numeric:tabular-nums}
.heat th{border:0;background:none;font-weight:500;padding:2px 6px;white-space:nowrap}
.heat th.rot{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;vertical-align:bottom;
  max-height:210px;overflow:hidden;text-overflow:ellipsis;padding:6px 2px;color:#334e68}
.heat th.rot .swatch{margin:0 0 5px 0}
.heat th.cat{font-weight:600;color:#fff;text-align:left;padding:3px 8px}
.scroll{overflow-x:auto;max-width:100%}
.stack{display:flex;height:18px;border-radius:3px;overflow:hidden;min-width:260px;background:var(--soft)}
.stack span{display:block;height:100%}
.topics{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:14px}
.topic{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff}
.topic h4{margin:0 0 6px;font-size:14px;font-weight:600}
.badge{display:inline-block;font-size:11.5px;font-weight:600;border-radius:10px;padding:1px 8px;margin-left:4px;
  background:#e3ecf5;color:#1f4e79}
.badge.seed{background:#fde7d6;color:#9a3f00}
.term{display:grid;grid-template-columns:118px 1fr;align-items:center;gap:6px;font-size:12.5px;line-height:1.35}
.term i{display:block;height:9px;border-radius:2px;background:#7aa6c9}
.term.from-seed i{background:#e58a3f}
.term.from-seed span::after{content:" ★";color:#e58a3f}
blockquote{margin:6px 0;padding:6px 12px;border-left:3px solid #9fb3c8;background:var(--soft);font-size:13.5px}
blockquote cite{display:block;font-style:normal;color:var(--muted);font-size:12px}
.filter{position:sticky;top:42px;z-index:4;background:#fff;padding:8px 0;border-bottom:1px solid var(--line);
  display:flex;flex-wrap:wrap;gap:10px 18px;align-items:center;font-size:14px}
.filter select{font:inherit;padding:3px 6px;max-width:420px}
details.doc{border:1px solid var(--line);border-radius:8px;margin:10px 0;background:#fff}
details.doc>summary{cursor:pointer;padding:8px 14px;background:var(--soft);border-radius:8px;font-weight:600}
details.doc[open]>summary{border-bottom:1px solid var(--line);border-radius:8px 8px 0 0}
details.doc>summary .meta{font-weight:400;color:var(--muted);font-size:13px;margin-left:8px}
.chips{display:flex;flex-wrap:wrap;gap:4px 6px;padding:8px 18px 0}
.chip{font-size:12px;background:var(--soft);border:1px solid var(--line);border-radius:10px;padding:0 8px;color:#334e68}
.chip b{font-weight:600;margin-left:2px}
.doctext{white-space:pre-wrap;overflow-wrap:anywhere;padding:10px 18px 14px;font-size:14.5px;line-height:1.6;
  max-height:560px;overflow-y:auto;font-family:Georgia,"Times New Roman",serif}
mark.hl{background:var(--bg);color:inherit;border-radius:2px;padding:0 1px;box-shadow:inset 0 -2px 0 var(--c)}
mark.hl.multi{box-shadow:inset 0 -2px 0 var(--c),inset 0 -5px 0 var(--c2)}
mark.hl.neg{background:repeating-linear-gradient(135deg,var(--bg) 0 4px,transparent 4px 7px);
  text-decoration:line-through;text-decoration-color:var(--c);box-shadow:none;outline:1px dashed var(--c)}
mark.hl.ctr{background:transparent;box-shadow:none;border-bottom:2px dotted var(--c);font-style:italic}
mark.hl.dim{background:transparent;box-shadow:none;outline:0;border:0;text-decoration:none;font-style:inherit}
.kwic td.left{text-align:right;color:#486581;white-space:nowrap;overflow:hidden;max-width:420px;direction:rtl}
.kwic td.left span{direction:ltr;unicode-bidi:plaintext}
.kwic td.kw{font-weight:600;white-space:nowrap}
.kwic td.right{color:#486581;white-space:nowrap;overflow:hidden;max-width:420px}
details.code>summary{cursor:pointer;padding:4px 0}
.codebook td.pat{font-size:12.5px;color:#334e68;max-width:520px}
code{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12.5px}
footer{color:var(--muted);font-size:12.5px;text-align:center;padding:16px}
@media print{nav.toc,.filter{position:static}.chips{display:flex;flex-wrap:wrap;gap:4px 6px;padding:8px 18px 0}
.chip{font-size:12px;background:var(--soft);border:1px solid var(--line);border-radius:10px;padding:0 8px;color:#334e68}
.chip b{font-weight:600;margin-left:2px}
.doctext{max-height:none}}
"""

JS = r"""
(function () {
  "use strict";
  var select = document.getElementById("code-filter");
  var hide = document.getElementById("hide-empty");
  var status = document.getElementById("filter-status");
  if (!select || !hide || !status) { return; }
  function matches(code, wanted) { return code === wanted || code.indexOf(wanted + ".") === 0; }
  function apply() {
    var wanted = select.value;
    var docs = document.querySelectorAll("details.doc");
    var shown = 0, total = 0;
    docs.forEach(function (doc) {
      var counts = JSON.parse(doc.getAttribute("data-counts") || "{}");
      var n = 0;
      Object.keys(counts).forEach(function (c) { if (!wanted || matches(c, wanted)) { n += counts[c]; } });
      doc.querySelectorAll("mark.hl").forEach(function (m) {
        var on = !wanted || m.getAttribute("data-codes").split(" ").some(function (c) { return matches(c, wanted); });
        m.classList.toggle("dim", !on);
      });
      var badge = doc.querySelector(".doc-count");
      if (badge) { badge.textContent = n + (n > 1 ? " passages codés" : " passage codé"); }
      var visible = !wanted || !hide.checked || n > 0;
      doc.hidden = !visible;
      if (visible) { shown += 1; }
      if (wanted && n > 0) { total += 1; }
    });
    status.textContent = wanted ? (total + " document(s) contiennent ce code ; " + shown + " affiché(s).")
                                : (shown + " document(s).");
  }
  select.addEventListener("change", apply);
  hide.addEventListener("change", apply);
  apply();
})();
"""
