/* botkit's charts (uPlot), shared by the live dashboard and the --report page.
 * Points are [ms, value]; fills are {ts (ns), price, side}. */
(function (root) {
  "use strict";
  /* Colours that read on the dark page and on the light report alike. */
  var GRID = "rgba(128, 140, 155, 0.25)";
  var AXIS = { stroke: "#8a96a6", grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } };
  var COLORS = { buy: "#3fb950", sell: "#f85149" };

  function size(el) {
    return { width: Math.max(el.clientWidth, 200), height: Math.max(el.clientHeight, 160) };
  }

  function drawFills(u, fills) {
    var xs = u.scales.x, ctx = u.ctx, box = u.bbox, s = 5 * (root.devicePixelRatio || 1);
    if (!fills.length || xs.min == null) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    for (var i = 0; i < fills.length; i++) {
      var f = fills[i], t = f.ts / 1e9;
      if (t < xs.min || t > xs.max) continue;
      var x = u.valToPos(t, "x", true), y = u.valToPos(Number(f.price), "y", true);
      var up = f.side === "buy";
      ctx.fillStyle = COLORS[f.side] || "#9aa7b8";
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x - s, up ? y + 1.6 * s : y - 1.6 * s);
      ctx.lineTo(x + s, up ? y + 1.6 * s : y - 1.6 * s);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }

  function chart(el, label, color, marked) {
    var fills = [];
    var opts = size(el);
    opts.scales = { x: { time: true } };
    opts.axes = [Object.assign({}, AXIS), Object.assign({ size: 80 }, AXIS)];
    opts.series = [{}, { label: label, stroke: color, width: 1.5, points: { show: false } }];
    opts.legend = { show: false };
    opts.cursor = { drag: { x: true, y: false } };
    opts.hooks = { draw: [function (u) { if (marked) drawFills(u, fills); }] };
    var plot = new root.uPlot(opts, [[], []], el);
    if (root.ResizeObserver) new root.ResizeObserver(function () { plot.setSize(size(el)); }).observe(el);
    return {
      plot: plot,
      /* Draw ``points`` (and, on a marked chart, ``withFills``). */
      set: function (points, withFills) {
        var xs = new Array(points.length), ys = new Array(points.length);
        for (var i = 0; i < points.length; i++) { xs[i] = points[i][0] / 1000; ys[i] = points[i][1]; }
        if (withFills) fills = withFills;
        plot.setData([xs, ys]);
      },
      points: function () { return plot.data[0].length; }
    };
  }

  root.botkitCharts = {
    equity: function (el) { return chart(el, "equity", "#58a6ff", false); },
    price: function (el) { return chart(el, "price", "#9aa7b8", true); }
  };
})(window);
