(function () {
  "use strict";
  var main = document.getElementById("board");
  var live = document.getElementById("live");
  var note = document.getElementById("zone");
  if (!main) { return; }

  // Times: the server writes UTC; show each in the reader's zone, ISO date, 24-hour clock.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function day(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
  function clock(d) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function span(ms) {  // as the server says an age: "under a minute", "45 min", "3 h 05 min", "2 d 3 h"
    var m = Math.floor(ms / 60000);
    if (m < 1) { return "under a minute"; }
    if (m < 60) { return m + " min"; }
    if (m < 48 * 60) { return Math.floor(m / 60) + " h " + pad(m % 60) + " min"; }
    return Math.floor(m / 1440) + " d " + Math.floor((m % 1440) / 60) + " h";
  }
  function offset(d) {
    var m = -d.getTimezoneOffset(), sign = m < 0 ? "−" : "+";
    m = Math.abs(m);
    return "UTC" + sign + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  function zone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }
  function localize(root) {
    var now = Date.now();
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i], d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) { continue; }
      var exact = day(d) + " " + clock(d), utc = d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
      if (t.hasAttribute("data-rel")) {
        var ms = d.getTime() - now;
        t.textContent = ms > 0 ? "in " + span(ms) : span(-ms) + " ago";
        t.setAttribute("data-exact", exact);
      } else {
        t.textContent = exact;
      }
      t.title = exact + " your time; " + utc;
    }
  }
  localize(main);
  if (note) {
    var here = new Date(), name = zone();
    note.textContent = "Times in your timezone" + (name ? ", " + name : "") + " (" + offset(here) + ").";
  }
  setInterval(function () { localize(main); }, 30000);

  // Live updates: swap <main> in place when the version changes, keeping what the reader opened.
  if (!live || !window.EventSource || !window.fetch) { return; }
  var version = main.getAttribute("data-version");
  var busy = false, again = false;
  function say(text) { live.textContent = text; }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(main.getAttribute("data-fragment"), {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r; })
      .then(function (r) {
        var next = r.headers.get("X-Board-Version");
        return r.text().then(function (html) {
          var x = window.scrollX, y = window.scrollY;
          var open = [], opened = main.querySelectorAll("details[open][id]");
          for (var i = 0; i < opened.length; i++) { open.push(opened[i].id); }
          var active = document.activeElement, held = active && active.closest("[id]");
          var focused = held && main.contains(held) ? held.id : "";
          var summary = active && active.tagName === "SUMMARY";
          main.innerHTML = html;
          for (var j = 0; j < open.length; j++) {
            var el = document.getElementById(open[j]);
            if (el) { el.open = true; }
          }
          var back = focused && document.getElementById(focused);
          if (back) { (summary && back.querySelector("summary") || back).focus(); }
          localize(main);
          main.setAttribute("data-version", next);
          version = next;
          window.scrollTo(x, y);
          var now = new Date();
          say("Updated " + clock(now) + ":" + pad(now.getSeconds()));
        });
      })
      .catch(function (e) { say("Update failed (" + e.message + "); retrying"); })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource(main.getAttribute("data-events"));
  source.addEventListener("version", function (e) { if (e.data !== version) { refresh(); } });
  source.onopen = function () { say("Live"); };
  source.onerror = function () { say("Live updates interrupted; reconnecting"); };
})();
