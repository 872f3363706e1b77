(function () {
  var main = document.getElementById("board");
  var live = document.getElementById("live");
  if (!main || !window.EventSource || !window.fetch) { return; }
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
          main.innerHTML = html;
          main.setAttribute("data-version", next);
          version = next;
          window.scrollTo(x, y);
          say("Updated " + new Date().toLocaleTimeString());
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
