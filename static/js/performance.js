/*
 * Performance charts in the chosen currency. The data endpoint sends exact decimal strings; Chart.js
 * turns them into numbers only to draw them.
 */
(function () {
  "use strict";

  var COLORS = ["#4cc2ff", "#3fb950", "#d29922", "#bc8cff", "#f85149", "#39c5cf"];
  var charts = {};

  function baseOptions(unit) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { labels: { color: "#e6edf3", boxWidth: 12 } },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var raw = ctx.raw === null || ctx.raw === undefined ? "—" : ctx.raw;
              return (ctx.dataset.label || "") + ": " + raw + (unit ? " " + unit : "");
            }
          }
        }
      },
      scales: {
        x: { ticks: { color: "#8b98a5", maxRotation: 0, autoSkip: true, maxTicksLimit: 10 },
             grid: { color: "#26303b" } },
        y: { ticks: { color: "#8b98a5" }, grid: { color: "#26303b" }, beginAtZero: true }
      }
    };
  }

  function draw(id, type, labels, datasets, unit, extra) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    if (charts[id]) charts[id].destroy();
    var options = baseOptions(unit);
    if (extra) extra(options);
    charts[id] = new Chart(canvas, { type: type, data: { labels: labels, datasets: datasets }, options: options });
  }

  function render(data) {
    var labels = data.labels;
    var money = data.currency;
    draw("chart-cumulative", "line", labels, [{
      label: "Net after gas (" + money.symbol + ")", data: money.cumulative, borderColor: COLORS[0],
      backgroundColor: COLORS[0] + "33", fill: true, pointRadius: 0, tension: 0.2
    }], money.symbol);
    draw("chart-profit", "bar", labels, [{
      label: "Net after gas (" + money.symbol + ")", data: money.net, backgroundColor: COLORS[0]
    }], money.symbol);
    draw("chart-success", "line", labels, [{
      label: "Success rate", data: data.success_rate, borderColor: COLORS[1],
      pointRadius: 2, spanGaps: true
    }], "%", function (o) { o.scales.y.max = 100; });
    draw("chart-gas", "bar", labels, [{
      label: "Gas (" + money.symbol + ")", data: money.gas, backgroundColor: COLORS[2]
    }], money.symbol);
    draw("chart-opportunities", "bar", labels, [{
      label: "Opportunities per hour", data: data.opportunities_per_hour, backgroundColor: COLORS[3]
    }], "");
  }

  function load() {
    var root = document.getElementById("charts");
    if (!root || typeof Chart === "undefined") return;
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(data);
        root.dataset.loaded = String((parseInt(root.dataset.loaded, 10) || 0) + 1);
        var error = root.querySelector(".chart-error");
        if (error) error.hidden = true;
      })
      .catch(function () {
        var error = root.querySelector(".chart-error");
        if (error) error.hidden = false;
      });
  }

  // A websocket frame says a trade was recorded or settled: the figures are
  // asked for again (#performance-live debounces), then the charts follow.
  document.addEventListener("htmx:wsAfterMessage", function (evt) {
    var message = evt.detail && evt.detail.message;
    if (typeof message === "string" && message.indexOf('id="performance-changed"') !== -1) {
      htmx.trigger(document.body, "performance-changed");
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var source = evt.detail && evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (source && source.id === "performance-live") load();
  });

  // Picking a currency or a token shows it at once (the Show button does the same).
  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (target && (target.id === "id_currency" || target.id === "id_token")) {
      var form = document.getElementById("performance-form");
      if (form) form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", load);
})();
