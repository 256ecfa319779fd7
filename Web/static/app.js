// Bullpen's one script: live updates on top of pages that work without it. It follows the signed-in
// person's event stream (/web/events, the API's feed through the session cookie) and, on an event, reloads
// the parts of the page that carry data-live, or appends to the event feed. No library, no build step.
(function () {
  "use strict";
  if (!window.EventSource) return;
  // The parts of a page that are redrawn from a fresh copy of it when an event comes.
  var LISTS = ["thread-messages", "review-list", "deliverable-list", "running-list", "waiting-list"];
  var feed = document.getElementById("event-feed");
  var live = document.querySelectorAll("[data-live]");
  var lists = LISTS.filter(function (id) { return document.getElementById(id); });
  if (!feed && live.length === 0 && lists.length === 0) return;

  // A refresh fetches the page again. The server shares the operators' common reads for up to a second, so a
  // page fetched at S shows at least every event from before S - 1 s: a refresh waits until 1.1 s after the
  // latest event, and when an event came too late for the refresh that was running, another follows. Events
  // in a burst make one refresh, and none is ever missed.
  var SHARED_MS = 1000, lastEvent = 0, timer = null, running = false;
  function schedule() {
    if (running || timer) return;
    var wait = Math.max(0, lastEvent + SHARED_MS + 100 - Date.now());
    timer = setTimeout(function () { timer = null; refresh(); }, wait);
  }
  function apply(html) {
    if (!html) return;
    var fresh = new DOMParser().parseFromString(html, "text/html");
    LISTS.forEach(function (id) {
      var now = document.getElementById(id), next = fresh.getElementById(id);
      if (now && next) now.innerHTML = next.innerHTML;
    });
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var next = fresh.querySelector('[data-live="' + element.getAttribute("data-live") + '"]');
      if (next) element.textContent = next.textContent;
    });
  }
  function refresh() {
    running = true;
    var started = Date.now();
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(apply)
      .catch(function () {})
      .then(function () {
        running = false;
        if (lastEvent >= started - SHARED_MS) schedule();
      });
  }

  var source = new EventSource("/web/events");
  source.onmessage = function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (error) { return; }
    if (feed) {
      var quiet = feed.querySelector(".muted");
      if (quiet) quiet.remove();
      var item = document.createElement("li");
      item.textContent = (event.createdAt || "") + " " + (event.type || "") + ": " + (event.message || "");
      feed.insertBefore(item, feed.firstChild);
      while (feed.children.length > 50) feed.removeChild(feed.lastChild);
    }
    lastEvent = Date.now();
    schedule();
  };
})();
