/*
 * Listonian history pages, live (see dashboard/live.py).
 *
 * The socket appends a signal per changed row to #history-signal. Signals are
 * gathered for a moment, then the page asks its own URL (data-live-url: its
 * filters, its page number and the id it loaded up to) what arrived and what
 * changed. The server answers with:
 *   - the number of rows that arrived since the page loaded and that its
 *     filters keep, and on the first page those rows, newest first: they go on
 *     top of the table (a row already there is replaced);
 *   - the rows it shows that changed: they are replaced where they stand.
 * The notice says "N new" (on the first page: a button back to the top that
 * clears it; on other pages: a link to the first page).
 */
(function () {
  "use strict";

  var GATHER_MS = 200;
  // A page left open all day keeps its table to this many rows (the oldest go).
  var MAX_ROWS = 100;
  var timer = null;
  var inFlight = false;
  var again = false;
  var pending = {};
  // How many new rows the operator has already acknowledged, per live URL.
  var acknowledged = {};
  var lastCount = {};

  function box() { return document.getElementById("history-live"); }
  function table() { return document.querySelector("#results table.history tbody"); }

  function gather() {
    var signals = document.querySelectorAll("#history-signal [data-row]");
    signals.forEach(function (el) {
      pending[el.dataset.row] = true;
      el.remove();
    });
    return signals.length > 0;
  }

  function schedule() {
    if (!timer) timer = setTimeout(ask, GATHER_MS);
  }

  function changedShown() {
    // Row ids ("trade-12") signalled since the last ask that this page shows.
    var ids = [];
    Object.keys(pending).forEach(function (rowId) {
      var row = document.getElementById(rowId);
      var number = rowId.split("-").pop();
      if (row && row.closest("#results") && /^\d+$/.test(number)) ids.push(number);
    });
    pending = {};
    return ids;
  }

  function ask() {
    timer = null;
    var live = box();
    if (!live) return;
    if (inFlight) { again = true; return; }
    var url = live.dataset.liveUrl;
    var changed = changedShown();
    var request = url + (changed.length ? "&changed=" + changed.join(",") : "");
    inFlight = true;
    fetch(request, { credentials: "same-origin", cache: "no-store", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        // The filters may have changed meanwhile: an answer to another page is dropped.
        var current = box();
        if (current && current.dataset.liveUrl === url) apply(current, html);
      })
      .catch(function () { /* the next signal or reconnect asks again */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function apply(live, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var answer = template.content.getElementById("history-live-answer");
    if (!answer) return;
    var url = live.dataset.liveUrl;
    var count = parseInt(answer.dataset.newCount, 10) || 0;
    var body = table();
    var fresh = Array.prototype.slice.call(answer.querySelectorAll("tbody[data-live=new] > tr"));
    if (live.dataset.firstPage === "1" && fresh.length && !body) {
      // The page had no rows, hence no table: show the results afresh.
      htmx.ajax("GET", live.dataset.liveUrl.replace(/([?&])live=\d+&?/, "$1"), { target: "#results", swap: "outerHTML" });
      return;
    }
    if (body) {
      var newRows = fresh.reverse();
      newRows.forEach(function (row) {
        // Highlighted until the notice is clicked; a row already acknowledged stays plain.
        var existing = document.getElementById(row.id);
        if (!existing || existing.classList.contains("live-new")) row.classList.add("live-new");
        if (existing) existing.remove();
        body.insertBefore(row, body.firstChild);
      });
      answer.querySelectorAll("tbody[data-live=changed] > tr").forEach(function (row) {
        var existing = document.getElementById(row.id);
        if (!existing) return;
        if (existing.classList.contains("live-new")) row.classList.add("live-new");
        existing.replaceWith(row);
      });
      var shown = body.querySelectorAll(":scope > tr");
      for (var i = MAX_ROWS; i < shown.length; i++) shown[i].remove();
      htmx.process(body);
    }
    lastCount[url] = count;
    showNotice(live);
  }

  function showNotice(live) {
    var notice = document.getElementById("history-live-notice");
    if (!notice) return;
    var url = live.dataset.liveUrl;
    var unseen = (lastCount[url] || 0) - (acknowledged[url] || 0);
    notice.hidden = unseen <= 0;
    notice.dataset.count = String(Math.max(unseen, 0));
    notice.textContent = live.dataset.firstPage === "1" ? unseen + " new" : unseen + " new — show";
  }

  document.addEventListener("click", function (evt) {
    var notice = evt.target.closest && evt.target.closest("button#history-live-notice");
    if (!notice) return;
    var live = box();
    if (!live) return;
    acknowledged[live.dataset.liveUrl] = lastCount[live.dataset.liveUrl] || 0;
    document.querySelectorAll("#results tr.live-new").forEach(function (row) {
      row.classList.remove("live-new");
    });
    showNotice(live);
    var results = document.getElementById("results");
    if (results) results.scrollIntoView({ block: "start" });
    window.scrollTo(0, 0);
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    if (gather()) schedule();
  });
  // After a reconnect the signals sent meanwhile are lost: ask anyway.
  document.body.addEventListener("listonian:resync", schedule);
})();
