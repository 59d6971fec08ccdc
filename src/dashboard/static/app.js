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
      var banner = fetch('/banner', { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) replaceBanner(html); });
      // The same search and page as the page itself shows.
      var table = fetch('/rows' + window.location.search, { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) apply(html); });
      Promise.all([banner, table]).catch(function () {})
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
  // The agent's state above the table: replaced only when it changed (its button kept).
  function replaceBanner(html) {
    var current = document.getElementById('agent-status');
    if (!current || current.outerHTML === html.trim()) return;
    var holder = document.createElement('div');
    holder.innerHTML = html;
    if (holder.firstElementChild) current.replaceWith(holder.firstElementChild);
  }
  var source = new EventSource('/events');
  // Whatever changed between rendering the page and (re)connecting was not heard.
  source.onopen = refresh;
  source.onmessage = refresh;
  source.onerror = function () { setTimeout(refresh, 2000); };
})();
// Retry countdowns count: each names the time (Unix ms) of the next try.
(function () {
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll('.countdown[data-until]'), function (el) {
      var seconds = Math.floor((Number(el.getAttribute('data-until')) - now) / 1000);
      el.textContent = seconds < 1 ? 'trying again now'
        : seconds < 120 ? 'trying again in ' + seconds + ' s'
        : 'trying again in ' + Math.ceil(seconds / 60) + ' min';
    });
  }
  setInterval(tick, 1000);
})();
// The before/after slider: the edited photo is shown up to the slider's place. Set
// through the style object, which the page's style policy allows (unlike markup).
(function () {
  var slider = document.getElementById('compare-slider');
  var after = document.getElementById('compare-after');
  var box = document.getElementById('compare');
  if (!slider || !after || !box) return;
  function show() {
    after.style.width = slider.value + '%';
    var img = after.querySelector('img');
    if (img) img.style.width = box.clientWidth + 'px';
  }
  slider.addEventListener('input', show);
  window.addEventListener('resize', show);
  Array.prototype.forEach.call(box.querySelectorAll('img'), function (i) { i.addEventListener('load', show); });
  show();
})();
