//! The dashboard's page frame: HTML escaping, the layout around every page, and the
//! style and script it ships (served from the agent; nothing from a CDN).

use axum::response::Html;

/// Text made safe inside HTML (content and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Shoots,
    Settings,
}

/// A whole page: title bar with the two tabs, then `body`.
pub fn layout(title: &str, tab: Tab, body: &str) -> Html<String> {
    let class = |t: Tab| if t == tab { "tab active" } else { "tab" };
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — imagen-sync</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header class="bar">
  <span class="brand">imagen-sync</span>
  <nav><a class="{shoots}" href="/">Shoots</a><a class="{settings}" href="/settings">Settings</a></nav>
</header>
<main>
{body}
</main>
<script src="/static/app.js"></script>
</body>
</html>
"#,
        title = escape(title),
        shoots = class(Tab::Shoots),
        settings = class(Tab::Settings),
    ))
}

/// A page with one short message (refusals, errors).
pub fn message_page(title: &str, message: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main>\
         <section class=\"card\"><h1>{t}</h1><p>{m}</p></section></main></body></html>",
        t = escape(title),
        m = escape(message)
    ))
}

/// A hidden CSRF field for a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

pub const STYLE: &str = r#"
:root { --bg: #f5f5f7; --card: #fff; --line: #e3e3e8; --text: #1d1d1f; --muted: #6e6e73;
  --accent: #2b7be4; --ok: #1f9e89; --warn: #d98e04; --bad: #d6362f; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.bar { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: rgba(255,255,255,.85);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; }
.brand { font-weight: 600; }
nav { display: flex; gap: 4px; }
.tab { padding: 5px 12px; border-radius: 6px; color: var(--text); text-decoration: none; }
.tab.active { background: #e8e8ed; font-weight: 500; }
main { max-width: 980px; margin: 24px auto; padding: 0 24px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-bottom: 18px; }
h1 { font-size: 20px; font-weight: 600; margin: 0 0 6px; }
h2 { font-size: 15px; font-weight: 600; margin: 0 0 12px; }
p.muted, .muted { color: var(--muted); }
.status-line { display: flex; align-items: center; justify-content: space-between; gap: 12px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 6px 8px; border-bottom: 1px solid var(--line); }
td { padding: 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
tr:last-child td { border-bottom: none; }
td a { color: var(--text); font-weight: 500; text-decoration: none; }
td a:hover { color: var(--accent); }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 500; background: #e8e8ed; }
.pill.done { background: #dff3ee; color: #13705f; }
.pill.failed { background: #fbe3e2; color: #a3261f; }
.pill.held { background: #fdf0d5; color: #8a5a00; }
.pill.settling, .pill.planned { background: #eef0f3; color: #555; }
.pill.uploading, .pill.editing, .pill.downloading { background: #e2edfc; color: #1d5bb0; }
.progress { width: 140px; height: 6px; background: #e8e8ed; border-radius: 3px; overflow: hidden; display: inline-block; vertical-align: middle; margin-right: 8px; }
.progress > span { display: block; height: 100%; background: var(--accent); }
.error { color: var(--bad); }
.banner { padding: 10px 14px; border-radius: 8px; margin-bottom: 18px; }
.banner.ok { background: #dff3ee; color: #13705f; }
.banner.bad { background: #fbe3e2; color: #a3261f; }
.banner.warn { background: #fdf0d5; color: #7a5200; }
button, .button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid #c7c7cc; background: #fff; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
form.inline { display: inline; }
.grid { display: grid; grid-template-columns: 220px 1fr; gap: 10px 16px; align-items: center; }
.grid label { color: var(--text); }
input[type=text], input[type=number], input[type=password], input[type=url] { font: inherit; padding: 5px 8px; border: 1px solid #c7c7cc; border-radius: 6px; width: 100%; }
input[type=number] { width: 110px; }
.field-error { color: var(--bad); font-size: 12px; margin: 2px 0 0; grid-column: 2; }
.checks label { margin-right: 18px; }
.pair { border-top: 1px solid var(--line); padding-top: 14px; margin-top: 14px; }
.pair:first-of-type { border-top: none; margin-top: 0; padding-top: 0; }
.photos { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.photo { margin: 0; }
.photo img, .photo .none { width: 100%; aspect-ratio: 3 / 2; object-fit: cover; border-radius: 6px; background: #e8e8ed; display: block; }
.photo figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.photo-row { display: contents; }
.actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 14px; }
"#;

pub const SCRIPT: &str = r#"
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
"#;
