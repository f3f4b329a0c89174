// Draws the dashboard charts from the JSON in a data attribute (no inline script: the CSP is 'self').
(function () {
  var el = document.getElementById("chart-data");
  if (!el || !window.echarts) return;
  var data = JSON.parse(el.getAttribute("data-chart") || "{}");
  var status = document.getElementById("chart-status");
  if (status) {
    echarts.init(status).setOption({
      animation: false,
      title: { text: "案件状态分布", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], data: data.states || [] }],
    });
  }
  var trend = document.getElementById("chart-trend");
  if (trend) {
    echarts.init(trend).setOption({
      animation: false,
      title: { text: "近十二个月登记与办结", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { data: ["登记", "办结"], right: 0 },
      xAxis: { type: "category", data: data.months || [] },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "登记", type: "line", data: data.created || [] },
        { name: "办结", type: "line", data: data.closed || [] },
      ],
    });
  }
})();
