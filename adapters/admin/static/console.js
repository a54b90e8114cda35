// Draws the program page's weekly charts with the vendored Chart.js; each chart has a data table beside it.
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") { return; }
  var d = JSON.parse(el.textContent);
  var colours = ["#1f5fbf", "#1b7f3b", "#b3261e", "#8a5a00", "#6b3fa0"];
  function line(label, data, max) {
    return { type: "line", data: { labels: d.labels, datasets: [{ label: label, data: data, borderColor: colours[0], backgroundColor: colours[0], spanGaps: true, tension: 0.2 }] },
             options: { maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, suggestedMax: max } } } };
  }
  function stacked(series, names) {
    return { type: "bar", data: { labels: d.labels, datasets: names.map(function (n, i) { return { label: n[1], data: series[n[0]], backgroundColor: colours[i + 1] }; }) },
             options: { maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } };
  }
  var configs = {
    engagement: line("Engagement %", d.engagement, 100),
    response: line("Response rate %", d.response, 100),
    momentum: line("Momentum (1-5)", d.momentum, 5),
    answers: stacked(d.answers, [["met", "Met"], ["light", "Light touch"], ["not_yet", "Not yet"]]),
    outbox: stacked(d.outbox, [["sent", "Sent"], ["failed", "Failing"], ["dead", "Dead"]])
  };
  document.querySelectorAll("canvas[data-chart]").forEach(function (c) {
    var cfg = configs[c.getAttribute("data-chart")];
    if (cfg) { new Chart(c, cfg); }
  });
})();
