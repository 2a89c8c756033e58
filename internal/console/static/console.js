// Live updates: a page with a live part asks its own URL for a stream of
// server-sent events; each "update" carries that part's fresh HTML, rendered
// by the server from the same template as the page.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!live || !status || !window.EventSource) {
    return;
  }
  function say(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text;
  }
  // Keep keyboard focus on the same link or control across a swap.
  function focusKey() {
    var el = document.activeElement;
    if (!el || !live.contains(el)) {
      return null;
    }
    return el.getAttribute("href") || el.id || null;
  }
  function refocus(key) {
    if (!key) {
      return;
    }
    var els = live.querySelectorAll("[href], [id]");
    for (var i = 0; i < els.length; i++) {
      if (els[i].getAttribute("href") === key || els[i].id === key) {
        els[i].focus();
        return;
      }
    }
  }
  say("idle", "Connecting for live updates…");
  var es = new EventSource(location.pathname + location.search);
  es.addEventListener("open", function () {
    say("live", "Live: this page updates itself.");
  });
  es.addEventListener("update", function (e) {
    var key = focusKey();
    live.innerHTML = e.data;
    refocus(key);
    live.setAttribute("data-updated", String(Date.now()));
  });
  es.addEventListener("signedout", function () {
    es.close();
    location.reload();
  });
  es.addEventListener("error", function () {
    if (es.readyState === EventSource.CLOSED) {
      say("paused", "Live updates stopped; reload the page to resume.");
    } else {
      say("paused", "Live updates paused; reconnecting…");
    }
  });
})();
