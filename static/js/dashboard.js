/*
 * Listonian dashboard: live-update plumbing around htmx's ws extension.
 *
 * - shows whether the live socket is up, and a banner while it is down;
 * - reconnects after any drop (the extension alone retries only some close codes);
 * - after a reconnect, asks the page for its live panels once, to catch up;
 * - updates a row in place when an event is about a row already shown;
 * - keeps live tables short, and ages the engine heartbeat without polling.
 */
(function () {
  "use strict";

  var AUTO_RETRY_CODES = [1006, 1011, 1012, 1013];
  var everOpened = false;
  var leaving = false;
  var failures = 0;
  var manualTimer = null;

  function backoff(retry) {
    // 0.5–1 s, then doubling up to 5 s: a restarted server is found quickly.
    var max = Math.min(1000 * Math.pow(2, retry), 5000);
    return max / 2 + Math.random() * (max / 2);
  }
  htmx.config.wsReconnectDelay = backoff;

  function setState(state, text) {
    var pill = document.getElementById("ws-status");
    if (pill) {
      pill.dataset.state = state;
      pill.textContent = text;
    }
    var banner = document.getElementById("connection-banner");
    if (banner) {
      banner.hidden = !(state === "down" || state === "ended");
      banner.dataset.state = state;
      var bannerText = banner.querySelector(".banner-text");
      if (bannerText && state === "ended") {
        bannerText.innerHTML = 'Your session has ended: <a href="/login/?next=' +
          encodeURIComponent(location.pathname + location.search) + '">log in again</a>.';
      } else if (bannerText && state === "down") {
        bannerText.textContent = "Reconnecting… live updates resume by themselves.";
      }
    }
    document.body.dataset.live = state;
  }

  function checkSession() {
    // A refused handshake looks like any other drop (1006); after a few, ask
    // whether the session is still valid before retrying forever.
    fetch(location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/login/") !== -1) {
          setState("ended", "Updates: logged out");
        }
      })
      .catch(function () { /* server still down: keep retrying */ });
  }

  window.addEventListener("beforeunload", function () { leaving = true; });

  document.addEventListener("htmx:wsConnecting", function () {
    if (!everOpened) setState("connecting", "Updates: connecting…");
  });

  document.addEventListener("htmx:wsOpen", function () {
    var again = everOpened;
    everOpened = true;
    failures = 0;
    if (manualTimer) { clearTimeout(manualTimer); manualTimer = null; }
    setState("live", "Updates: connected");
    if (again) htmx.trigger(document.body, "listonian:resync");
  });

  document.addEventListener("htmx:wsClose", function (evt) {
    if (leaving) return;
    var detail = evt.detail || {};
    var code = detail.event ? detail.event.code : 1006;
    if (code === 4401) { setState("ended", "Updates: logged out"); return; }
    if (document.body.dataset.live === "ended") return;
    failures += 1;
    setState("down", "Updates: reconnecting…");
    if (failures % 3 === 0) checkSession();
    if (AUTO_RETRY_CODES.indexOf(code) === -1 && detail.socketWrapper && !manualTimer) {
      // A clean close (server shutting down, proxy timeout): retry ourselves.
      manualTimer = setTimeout(function () {
        manualTimer = null;
        detail.socketWrapper.reconnect();
      }, backoff(failures));
    }
  });

  // A row already on the page (same id) is replaced where it stands instead of
  // being inserted again, so status changes do not duplicate rows. In a table
  // ordered by last change (data-move-updated) it leaves its place instead and
  // the new version is prepended, on top.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fragment = evt.detail && evt.detail.fragment;
    if (!fragment || !fragment.children) return;
    Array.prototype.slice.call(fragment.children).forEach(function (el) {
      if (el.tagName !== "TR" || !el.id) return;
      var existing = document.getElementById(el.id);
      if (!existing) return;
      var body = existing.parentElement;
      if (body && body.hasAttribute("data-move-updated")) {
        existing.remove();
      } else {
        existing.replaceWith(el);
        htmx.process(el);
      }
    });
    if (!fragment.children.length) evt.detail.shouldSwap = false;
  });

  function trimTables() {
    document.querySelectorAll("tbody[data-max-rows]").forEach(function (body) {
      var max = parseInt(body.dataset.maxRows, 10) || 20;
      var rows = body.querySelectorAll("tr:not(.empty-row)");
      for (var i = max; i < rows.length; i++) rows[i].remove();
    });
  }
  document.addEventListener("htmx:wsAfterMessage", trimTables);

  function ageHeartbeats() {
    document.querySelectorAll("[data-heartbeat]").forEach(function (el) {
      if (el.dataset.running !== "1" || !el.dataset.heartbeat) return;
      var age = (Date.now() - Date.parse(el.dataset.heartbeat)) / 1000;
      var staleAfter = parseInt(el.dataset.staleAfter, 10) || 30;
      var ageText = el.querySelector(".heartbeat-age");
      if (!ageText || isNaN(age)) return;
      var shown = age < 90 ? Math.max(0, Math.round(age)) + " s" : Math.round(age / 60) + " min";
      ageText.textContent = (age > staleAfter ? "no heartbeat for " : "heartbeat ") + shown +
        (age > staleAfter ? "" : " ago");
      el.classList.toggle("stale", age > staleAfter);
    });
  }
  setInterval(ageHeartbeats, 5000);
  document.addEventListener("DOMContentLoaded", ageHeartbeats);
})();
