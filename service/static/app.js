// Progressive enhancement only: every page works without this file.
// A draft in progress follows the drafts event stream (GET /api/drafts/{id}/events, server-sent
// events) and reloads itself when the draft is done, instead of waiting for a click on "Refresh".
(function () {
  "use strict";

  function followDraft(box) {
    if (!("EventSource" in window)) { return; }
    var url = box.getAttribute("data-events");
    var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };
    var source = new EventSource(url, { withCredentials: true });
    var show = function (data) {
      field("status").textContent = data.status;
      field("stage").textContent = data.stage || "waiting";
      var bar = field("percent");
      bar.value = data.percent;
      bar.textContent = data.percent + "%";
    };
    var parse = function (event) {
      try { return JSON.parse(event.data); } catch (e) { return null; }
    };
    box.setAttribute("data-live", "connecting");
    source.addEventListener("open", function () { box.setAttribute("data-live", "on"); });
    source.addEventListener("progress", function (event) {
      var data = parse(event);
      if (data) { show(data); }
    });
    source.addEventListener("done", function () {
      source.close();
      box.setAttribute("data-live", "done");
      window.location.reload();
    });
    source.addEventListener("failed", function (event) {
      source.close();
      var data = parse(event) || {};
      var problem = field("error");
      problem.textContent = "The draft failed: " + (data.error || "unknown error") +
        ". Fix the dump and upload it again.";
      problem.hidden = false;
      box.setAttribute("data-live", "failed");
    });
    source.addEventListener("error", function () {
      // The browser retries on its own; the Refresh link stays as the fallback.
      box.setAttribute("data-live", "retrying");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-events]");
    if (box) { followDraft(box); }
  });
})();
