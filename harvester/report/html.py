"""One self-contained HTML report: the coloured taxonomy table, filters, evidence per cell, the figure.

Everything from a card, dataset card or repository is untrusted. The table is escaped on the
server; evidence travels as JSON inside a non-executable script element and is rendered with
``textContent``; links are made only for http(s) URLs; a Content-Security-Policy lets only this
file's own script (pinned by hash) run, and nothing load from the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

from harvester.fetch.hub import hub_page
from harvester.ids import is_hub_id
from harvester.levels import COMPONENTS
from harvester.report.palette import LEGEND, colour
from harvester.store.sqlite import Run

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}
.meta{color:#555;margin-bottom:1em}
.controls{display:flex;gap:1em;flex-wrap:wrap;margin:.8em 0}
.layout{display:grid;grid-template-columns:minmax(0,1fr) minmax(20em,30em);gap:1.2em;align-items:start}
@media (max-width:60em){.layout{grid-template-columns:minmax(0,1fr)}}
.tablewrap{overflow:auto;max-height:85vh;min-width:0}
table.tax{border-collapse:collapse;font-size:12px}
table.tax th{cursor:pointer;background:#eee;padding:4px;border:1px solid #ccc;writing-mode:vertical-rl;
  transform:rotate(180deg);white-space:nowrap;vertical-align:bottom}
table.tax th.model{writing-mode:horizontal-tb;transform:none;vertical-align:bottom;text-align:left}
table.tax td{border:1px solid #ccc;padding:2px 6px;text-align:center;min-width:2.4em}
table.tax td.model{text-align:left;white-space:nowrap;max-width:22em;overflow:hidden;text-overflow:ellipsis}
table.tax td.model a{color:inherit}
table.tax td.cell{cursor:pointer}
table.tax td.cell:hover,table.tax td.cell:focus,table.tax th:focus{outline:3px solid #1f4e9c;outline-offset:-2px}
table.tax td.cell[aria-pressed=true]{outline:3px solid #000;outline-offset:-3px}
#evidence{position:sticky;top:1em;max-height:calc(100vh - 2em);overflow:auto;background:#fff;
  border:1px solid #888;padding:1em}
#evidence .placeholder{color:#555;margin:0}
#evidence h2{font-size:1.1em;margin:0 0 .5em}
#evidence dl{display:grid;grid-template-columns:9em 1fr;gap:.2em .6em;margin:0}
#evidence dt{font-weight:600}
#evidence ul{padding-left:1.2em}
#evidence li{overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;margin:1em 0}
.legend span.sw{display:inline-block;width:1.2em;height:1em;border:1px solid #888;
  vertical-align:middle;margin-right:.3em}
figure img{max-width:100%}
table.tax td.model.drift::after{content:" \\26A0 drift";color:#b00;font-weight:600}
"""

_JS = """
(function(){
  var data = JSON.parse(document.getElementById('harvester-data').textContent);
  var table = document.getElementById('taxonomy');
  var tbody = table.tBodies[0];
  var order = {'C1':1,'D1':1,'D2':2,'C2':2,'C3':3,'D3':3,'C4':4,'D4':4,'C5':5,'D5':5,'N/A':6,'?':7,
               'I':1,'II':2,'III':3,'\u2014':4};
  var sortState = {};
  function sortBy(th, i){
    var dir = sortState[i] = -(sortState[i] || -1);
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function(a, b){
      var x = a.cells[i].textContent, y = b.cells[i].textContent;
      if (i > 0) { x = order[x] || 9; y = order[y] || 9; return (x - y) * dir || 0; }
      return x < y ? -dir : x > y ? dir : 0;
    });
    rows.forEach(function(r){ tbody.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function(h){ h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function(th, i){
    th.addEventListener('click', function(){ sortBy(th, i); });
    th.addEventListener('keydown', function(ev){
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortBy(th, i); }
    });
  });
  var q = document.getElementById('filter-model'), org = document.getElementById('filter-org'),
      lvl = document.getElementById('filter-level');
  function applyFilters(){
    var text = q.value.toLowerCase(), o = org.value, l = lvl.value;
    Array.prototype.forEach.call(tbody.rows, function(r){
      var id = r.cells[0].textContent;
      var ok = id.toLowerCase().indexOf(text) >= 0 && (!o || id.split('/')[0] === o);
      if (ok && l) { ok = Array.prototype.some.call(r.cells, function(c, i){ return i > 0 && c.textContent === l; }); }
      r.style.display = ok ? '' : 'none';
    });
  }
  [q, org, lvl].forEach(function(el){ el.addEventListener('input', applyFilters); });
  var panel = document.getElementById('evidence');
  var placeholder = panel.innerHTML;
  var current = null;
  function text(tag, value){ var e = document.createElement(tag); e.textContent = value; return e; }
  function safeLink(url){
    try { var u = new URL(url); if (u.protocol === 'http:' || u.protocol === 'https:') {
      var a = text('a', url); a.href = u.href; a.rel = 'noopener noreferrer nofollow'; a.target = '_blank';
      return a; } }
    catch (e) {}
    return text('span', url);
  }
  function close(){
    panel.innerHTML = placeholder;
    if (current) { current.setAttribute('aria-pressed', 'false'); current.focus(); current = null; }
  }
  function show(td){
    var model = td.parentNode.getAttribute('data-model'), comp = td.getAttribute('data-component');
    var c = data.models[model][comp];
    if (current) { current.setAttribute('aria-pressed', 'false'); }
    current = td; td.setAttribute('aria-pressed', 'true');
    panel.textContent = '';
    panel.appendChild(text('h2', model + ' \\u2014 ' + comp.replace(/_/g, ' ')));
    var dl = document.createElement('dl');
    function row(k, v){ dl.appendChild(text('dt', k)); var dd = document.createElement('dd');
      if (v instanceof Node) dd.appendChild(v); else dd.textContent = v; dl.appendChild(dd); }
    row('level', c.level);
    row('license', c.license || '\\u2014');
    row('points', c.points === null ? '\\u2014' : String(c.points));
    if (c.answers) { Object.keys(c.answers).forEach(function(k){
      row(k.replace(/_/g, ' '), c.answers[k] ? 'yes' : 'no'); }); }
    panel.appendChild(dl);
    panel.appendChild(text('h3', 'evidence'));
    var ul = document.createElement('ul');
    (c.evidence || []).forEach(function(e){
      var li = document.createElement('li');
      li.appendChild(text('code', e.rule)); li.appendChild(document.createTextNode(': '));
      li.appendChild(text('q', e.raw)); li.appendChild(document.createTextNode(' from '));
      li.appendChild(safeLink(e.source));
      if (e.note) { li.appendChild(document.createTextNode(' \\u2014 ' + e.note)); }
      ul.appendChild(li);
    });
    panel.appendChild(ul);
    var btn = text('button', 'close (Esc)'); btn.id = 'evidence-close'; btn.type = 'button';
    btn.addEventListener('click', close);
    panel.appendChild(btn);
  }
  tbody.addEventListener('click', function(ev){
    var td = ev.target.closest('td.cell'); if (td) show(td);
  });
  function visibleRows(){
    return Array.prototype.filter.call(tbody.rows, function(r){ return r.style.display !== 'none'; });
  }
  tbody.addEventListener('keydown', function(ev){
    var td = ev.target.closest('td.cell'); if (!td) return;
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); show(td); return; }
    if (ev.key === 'Escape') { close(); return; }
    var rows = visibleRows(), r = rows.indexOf(td.parentNode), i = td.cellIndex, next = null;
    if (ev.key === 'ArrowRight') next = td.nextElementSibling;
    else if (ev.key === 'ArrowLeft') next = td.previousElementSibling.classList.contains('cell') ?
      td.previousElementSibling : null;
    else if (ev.key === 'ArrowDown' && r + 1 < rows.length) next = rows[r + 1].cells[i];
    else if (ev.key === 'ArrowUp' && r > 0) next = rows[r - 1].cells[i];
    if (next) { ev.preventDefault(); next.focus(); }
  });
  panel.addEventListener('keydown', function(ev){ if (ev.key === 'Escape') close(); });
})();
"""


def _json_for_script(doc: Any) -> str:
    """JSON safe inside <script type=application/json>: no way to close the element or open a comment."""
    text = json.dumps(doc, ensure_ascii=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def render(cells: dict[str, dict[str, dict[str, Any]]], run: Run, figure_png: bytes | None = None,
           drift: dict[str, str] | None = None, mof: dict[str, str | None] | None = None) -> str:
    """``drift``: model id → why its licence drifts from its base or datasets (marked on its row);
    ``mof``: model id → its Model Openness Framework class (a last column)."""
    drift = drift or {}
    models = sorted(cells)
    orgs = sorted({m.split("/")[0] for m in models if "/" in m})
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
           "base-uri 'none'; form-action 'none'")
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Openness taxonomy — run {run.id}</title><style>{_CSS}</style></head><body>",
        "<h1>Openness taxonomy</h1>",
        f'<p class="meta">Run {run.id} ({escape(run.scope)}), started {escape(run.started_at)}, finished '
        f'{escape(run.finished_at or "—")}, status {escape(run.status)}; {len(models)} models'
        + (f", {len(drift)} with licence drift (⚠: the licence grants what the base model or a dataset withholds;"
           " hover for why)" if drift else "") + ". Click a column to sort, a cell for its evidence (or Tab to it "
        "and press Enter; arrow keys move between cells).</p>",
        '<div class="controls"><label>model <input id="filter-model" type="search" placeholder="filter"></label>',
        '<label>organisation <select id="filter-org"><option value="">all</option>',
        *(f'<option value="{escape(o)}">{escape(o)}</option>' for o in orgs),
        '</select></label><label>level <select id="filter-level"><option value="">any</option>',
        *(f'<option value="{lv}">{lv}</option>' for lv in
          ["C1", "C2", "C3", "C4", "C5", "D1", "D2", "D3", "D4", "D5", "N/A", "?"]),
        "</select></label></div>",
        '<div class="layout"><div class="tablewrap">',
        '<table class="tax" id="taxonomy"><thead><tr><th class="model" tabindex="0" scope="col">model</th>',
        *(['<th title="Model Openness Framework class (harvester export --framework mof: every component)" '
           'tabindex="0" scope="col">MOF class</th>'] if mof is not None else []),
        *(f'<th title="{escape(c)}" tabindex="0" scope="col">{escape(c.replace("_", " "))}</th>' for c in COMPONENTS),
        "</tr></thead><tbody>",
    ]
    for m in models:
        mark = f' drift" title="licence drift: {escape(drift[m])}' if m in drift else ""
        name = (f'<a href="{escape(hub_page("model", m))}" title="{escape(m)} on the Hub" '
                f'rel="noopener noreferrer nofollow">{escape(m)}</a>' if is_hub_id(m) else escape(m))
        row = [f'<tr data-model="{escape(m)}"><td class="model{mark}">{name}</td>']
        if mof is not None:
            row.append(f'<td class="mof">{escape(mof.get(m) or "—")}</td>')
        for c in COMPONENTS:
            level = cells[m].get(c, {}).get("level", "?")
            fg = "#fff" if level[-1:] in ("1", "5") else "#222"
            label = f"{m}, {c.replace('_', ' ')}: {level}"
            row.append(f'<td class="cell" data-component="{c}" tabindex="0" role="button" aria-pressed="false" '
                       f'aria-label="{escape(label)}" style="background:{colour(level)};color:{fg}">'
                       f"{escape(level)}</td>")
        out.append("".join(row) + "</tr>")
    out.append("</tbody></table></div>")
    out.append('<aside id="evidence" aria-live="polite" aria-label="evidence of the selected cell">'
               '<p class="placeholder">Select a cell to see its level, licence and evidence here.</p></aside></div>')
    out.append('<div class="legend">' + "".join(
        f'<span><span class="sw" style="background:{colour(k.split()[0])}"></span><b>{escape(k)}</b> {escape(v)}</span>'
        for k, v in LEGEND) + "</div>")
    if figure_png:
        b64 = base64.b64encode(figure_png).decode()
        out.append(f'<figure><img alt="distribution of levels per component" src="data:image/png;base64,{b64}">'
                   "<figcaption>Distribution of levels per component.</figcaption></figure>")
    doc = {"run": run.id, "models": cells}
    out.append(f'<script type="application/json" id="harvester-data">{_json_for_script(doc)}</script>')
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"
