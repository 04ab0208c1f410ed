(function () {
  'use strict';
  // Everything shown comes from the firm's export: it goes into the page as
  // text (textContent), never as markup.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  // Flags: filter by severity and table.
  var flags = document.getElementById('flags');
  if (flags) {
    var sev = document.getElementById('flag-severity');
    var tab = document.getElementById('flag-table');
    var shown = document.getElementById('flag-shown');
    var rows = Array.prototype.slice.call(flags.tBodies[0].rows);
    var applyFlags = function () {
      var n = 0;
      rows.forEach(function (r) {
        var ok = (!sev.value || r.getAttribute('data-severity') === sev.value) &&
                 (!tab.value || r.getAttribute('data-table') === tab.value);
        r.hidden = !ok;
        if (ok) { n++; }
      });
      shown.textContent = n + ' of ' + rows.length + ' shown';
    };
    sev.addEventListener('change', applyFlags);
    tab.addEventListener('change', applyFlags);
    document.getElementById('flag-controls').hidden = false;
    applyFlags();
  }

  // The diff: every write the report holds, filtered and paged.
  var data = document.getElementById('diff-data');
  var body = document.getElementById('diff-rows');
  if (!data || !body) { return; }
  var ops;
  try { ops = JSON.parse(data.textContent) || []; } catch (e) { return; }
  var kind = document.getElementById('diff-kind');
  var op = document.getElementById('diff-op');
  var search = document.getElementById('diff-search');
  var prev = document.getElementById('diff-prev');
  var next = document.getElementById('diff-next');
  var pageLabel = document.getElementById('diff-page');
  var perPage = 100, page = 0, matching = ops;

  function matches(o, q) {
    if (!q) { return true; }
    if ((o.key || '').toLowerCase().indexOf(q) >= 0) { return true; }
    var cs = o.changes || [];
    for (var i = 0; i < cs.length; i++) {
      var c = cs[i];
      var hay = [c.source, c.source_value, c.field, c.key, c.value, c.previous].join('\n').toLowerCase();
      if (hay.indexOf(q) >= 0) { return true; }
    }
    return false;
  }

  function recordCell(o, rowspan) {
    var td = el('td');
    td.appendChild(el('code', null, o.key));
    td.appendChild(el('br'));
    td.appendChild(el('span', 'small', o.target_kind + (o.target_id ? ' #' + o.target_id : '')));
    if (o.flag) { td.appendChild(el('br')); td.appendChild(el('span', 'pill pill-warn', o.flag)); }
    if (rowspan > 1) { td.rowSpan = rowspan; }
    return td;
  }
  function opCell(o, rowspan) {
    var td = el('td');
    td.appendChild(el('span', 'op op-' + o.op, o.op));
    if (o.reason) { td.appendChild(el('br')); td.appendChild(el('span', 'small', o.reason)); }
    if (rowspan > 1) { td.rowSpan = rowspan; }
    return td;
  }

  function render() {
    var q = (search.value || '').trim().toLowerCase();
    matching = ops.filter(function (o) {
      return (!kind.value || o.target_kind === kind.value) && (!op.value || o.op === op.value) && matches(o, q);
    });
    var pages = Math.max(1, Math.ceil(matching.length / perPage));
    if (page >= pages) { page = pages - 1; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    matching.slice(page * perPage, (page + 1) * perPage).forEach(function (o) {
      var cs = o.changes || [];
      if (cs.length === 0) {
        var tr = el('tr', 'op-start');
        tr.appendChild(recordCell(o, 1));
        tr.appendChild(opCell(o, 1));
        var td = el('td', 'muted', 'no fields written');
        td.colSpan = 5;
        tr.appendChild(td);
        body.appendChild(tr);
        return;
      }
      cs.forEach(function (c, i) {
        var tr = el('tr', i === 0 ? 'op-start' : null);
        if (i === 0) { tr.appendChild(recordCell(o, cs.length)); tr.appendChild(opCell(o, cs.length)); }
        var src = el('td'); src.appendChild(el('code', null, c.source || '')); tr.appendChild(src);
        tr.appendChild(el('td', 'val', c.source_value || ''));
        var f = el('td', null, c.field);
        if (c.key && c.key.indexOf('new:') !== 0) { f.appendChild(el('br')); f.appendChild(el('code', 'key', c.key)); }
        tr.appendChild(f);
        var before = el('td', 'val');
        if (c.has_previous) {
          if (c.previous) { before.textContent = c.previous; } else { before.appendChild(el('span', 'muted', '(empty)')); }
        }
        tr.appendChild(before);
        tr.appendChild(el('td', 'val', c.value));
        body.appendChild(tr);
      });
    });
    pageLabel.textContent = matching.length === 0 ? 'no writes match' :
      'page ' + (page + 1) + ' of ' + pages + ' (' + matching.length + ' of ' + ops.length + ' writes)';
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  kind.addEventListener('change', function () { page = 0; render(); });
  op.addEventListener('change', function () { page = 0; render(); });
  search.addEventListener('input', function () { page = 0; render(); });
  prev.addEventListener('click', function () { if (page > 0) { page--; render(); } });
  next.addEventListener('click', function () { page++; render(); });
  document.getElementById('diff-controls').hidden = false;
  var nojs = document.getElementById('diff-nojs');
  if (nojs) { nojs.hidden = true; }
  render();
}());
