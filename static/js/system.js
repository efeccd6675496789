/*
 * System page: the stacked chart of per-stage times over the last blocks.
 * The series arrives in each live frame (#system-series data-series); the
 * chart is redrawn in place whenever it changed.
 */
(function () {
  "use strict";

  var COLORS = ["#8b98a5", "#4cc2ff", "#d29922", "#3fb950", "#bc8cff", "#39c5cf"];
  var chart = null;
  var shown = "";

  function series() {
    var holder = document.getElementById("system-series");
    return holder ? holder.dataset.series || "" : "";
  }

  function draw() {
    var text = series();
    var canvas = document.getElementById("chart-stages");
    if (!canvas || !text || text === shown || typeof Chart === "undefined") return;
    var data;
    try { data = JSON.parse(text); } catch (e) { return; }
    shown = text;
    var datasets = data.stages.map(function (s, i) {
      return { label: s.label, data: s.values, backgroundColor: COLORS[i % COLORS.length], stack: "block" };
    });
    if (chart) {
      chart.data.labels = data.blocks;
      chart.data.datasets = datasets;
      chart.update("none");
    } else {
      chart = new Chart(canvas, {
        type: "bar",
        data: { labels: data.blocks, datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { labels: { color: "#e6edf3", boxWidth: 12 } },
            tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + ctx.raw + " ms"; } } }
          },
          scales: {
            x: { stacked: true, ticks: { color: "#8b98a5", maxTicksLimit: 10 }, grid: { color: "#26303b" } },
            y: { stacked: true, beginAtZero: true, ticks: { color: "#8b98a5" }, grid: { color: "#26303b" },
                 title: { display: true, text: "ms", color: "#8b98a5" } }
          }
        }
      });
    }
    canvas.dataset.blocks = String(data.blocks.length);
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:wsAfterMessage", draw);
})();
