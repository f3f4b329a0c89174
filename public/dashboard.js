// Draws the dashboard charts from the JSON in a data attribute (no inline script: the CSP is 'self').
// Titles are headings of the page, not drawn into the canvas, where they collided with the pie's labels.
// ECharts (1.1 MB) is fetched once the page has loaded, so the figures and lists show without waiting
// for it; the login page prefetches it and it is cached as immutable.
(function () {
  var el = document.getElementById("chart-data");
  if (!el) return;
  function load() {
    var s = document.createElement("script");
    s.src = el.getAttribute("data-echarts");
    s.onload = draw;
    document.head.appendChild(s);
  }
  if (document.readyState === "complete") load();
  else window.addEventListener("load", load);
})();

function draw() {
  var el = document.getElementById("chart-data");
  if (!el || !window.echarts) return;
  var data = JSON.parse(el.getAttribute("data-chart") || "{}");
  var charts = [];
  var status = document.getElementById("chart-status");
  if (status) {
    var pie = echarts.init(status);
    pie.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}：{c} 件（{d}%）" },
      series: [{ type: "pie", radius: ["30%", "58%"], center: ["50%", "52%"], label: { formatter: "{b}\n{c} 件" }, data: data.states || [] }],
    });
    charts.push(pie);
  }
  var trend = document.getElementById("chart-trend");
  if (trend) {
    var line = echarts.init(trend);
    line.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { data: ["登记", "办结"], top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.months || [], axisLabel: { interval: 0, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "登记", type: "line", data: data.created || [] },
        { name: "办结", type: "line", data: data.closed || [] },
      ],
    });
    charts.push(line);
  }
  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c.resize();
    });
  });
}
