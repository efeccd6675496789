/*
 * Performance charts. The data endpoint sends exact decimal strings; Chart.js
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

  function drawToken(data, index) {
    var token = data.tokens[index];
    var labels = data.labels;
    var color = COLORS[index % COLORS.length];
    if (!token) {
      draw("chart-cumulative", "line", labels, [], "");
      draw("chart-profit", "bar", labels, [], "");
      return;
    }
    draw("chart-cumulative", "line", labels, [{
      label: token.symbol, data: token.cumulative, borderColor: color,
      backgroundColor: color + "33", fill: true, pointRadius: 0, tension: 0.2
    }], token.symbol);
    draw("chart-profit", "bar", labels, [{
      label: token.symbol, data: token.profit, backgroundColor: color
    }], token.symbol);
  }

  function render(data) {
    var labels = data.labels;
    var select = document.getElementById("chart-token");
    var toolbar = document.querySelector(".chart-toolbar");
    if (select && data.tokens.length > 1) {
      select.innerHTML = "";
      data.tokens.forEach(function (t, i) {
        var option = document.createElement("option");
        option.value = String(i);
        option.textContent = t.symbol;
        select.appendChild(option);
      });
      toolbar.hidden = false;
      select.onchange = function () { drawToken(data, parseInt(select.value, 10)); };
    }
    drawToken(data, 0);
    draw("chart-success", "line", labels, [{
      label: "Success rate", data: data.success_rate, borderColor: COLORS[1],
      pointRadius: 2, spanGaps: true
    }], "%", function (o) { o.scales.y.max = 100; });
    draw("chart-gas", "bar", labels, [{
      label: "Gas (" + data.gas.symbol + ")", data: data.gas.values, backgroundColor: COLORS[2]
    }], data.gas.symbol);
    draw("chart-opportunities", "bar", labels, [{
      label: "Opportunities per hour", data: data.opportunities_per_hour, backgroundColor: COLORS[3]
    }], "");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("charts");
    if (!root || typeof Chart === "undefined") return;
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        render(data);
        root.dataset.loaded = "1";
      })
      .catch(function () {
        var error = root.querySelector(".chart-error");
        if (error) error.hidden = false;
      });
  });
})();
