(function () {
  var rows = document.getElementById('shoot-rows');
  if (!rows || !window.EventSource) return;
  // One fetch at a time; an event that arrives meanwhile asks for one more afterwards,
  // so the last change (a shoot failing, finishing) is never missed.
  var pending = false, again = false;
  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    setTimeout(function () {
      fetch('/rows', { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) apply(html); })
        .finally(function () {
          pending = false;
          if (again) { again = false; refresh(); }
        });
    }, 250);
  }
  // Only rows that changed are replaced, so a button being clicked (Retry) is not
  // swapped out from under the pointer while other shoots make progress.
  function key(row) {
    return row.getAttribute('data-shoot') || 'folder:' + (row.getAttribute('data-folder') || '');
  }
  function apply(html) {
    var next = document.createElement('tbody');
    next.innerHTML = html;
    var current = {};
    Array.prototype.forEach.call(rows.children, function (row) { current[key(row)] = row; });
    Array.prototype.slice.call(next.children).forEach(function (row, position) {
      var id = key(row), old = current[id];
      delete current[id];
      var kept = old && old.outerHTML === row.outerHTML ? old : row;
      if (old && kept !== old) old.remove();
      if (rows.children[position] !== kept) rows.insertBefore(kept, rows.children[position] || null);
    });
    Object.keys(current).forEach(function (gone) { current[gone].remove(); });
  }
  var source = new EventSource('/events');
  // Whatever changed between rendering the page and (re)connecting was not heard.
  source.onopen = refresh;
  source.onmessage = refresh;
  source.onerror = function () { setTimeout(refresh, 2000); };
})();
