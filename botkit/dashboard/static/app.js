/* The live dashboard: one stream of state updates, rendered into fixed tables and two
 * bounded charts (nothing grows with the run's length). */
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var token = params.get("token") || sessionStorage.getItem("botkit-token") || "";
  if (params.get("token")) {
    sessionStorage.setItem("botkit-token", token);
    history.replaceState(null, "", location.pathname); /* the token leaves the address bar and history */
  }
  var $ = function (id) { return document.getElementById(id); };
  var state = { equity: [], price: [], max: 1800 };
  var app = window.botkit = { updates: 0, rendered: false, firstRenderMs: null, last: null, connected: false,
                              renderMs: 0, renderMaxMs: 0 };
  var charts = { equity: botkitCharts.equity($("equity-chart")), price: botkitCharts.price($("price-chart")) };
  app.charts = charts;

  function text(value) { return value === null || value === undefined ? "–" : String(value); }
  function cell(value, cls) {
    var td = document.createElement("td");
    td.textContent = text(value);
    if (cls) td.className = cls;
    return td;
  }
  var drawn = {};
  function rows(id, items, build, columns) {
    var key = JSON.stringify(items);
    if (drawn[id] === key) return; /* unchanged: no DOM work */
    drawn[id] = key;
    var body = $(id).tBodies[0], out = [];
    for (var i = 0; i < items.length; i++) {
      var tr = document.createElement("tr");
      var cells = build(items[i]);
      for (var j = 0; j < cells.length; j++) tr.appendChild(cells[j]);
      out.push(tr);
    }
    if (!out.length) {
      var empty = document.createElement("tr"), td = cell("none");
      td.colSpan = columns; td.className = "empty"; empty.appendChild(td); out.push(empty);
    }
    body.replaceChildren.apply(body, out);
  }
  function time(ns) { return new Date(ns / 1e6).toLocaleTimeString(); }
  function duration(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = Math.floor(s % 60);
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
  }
  function number(value, digits) {
    var n = Number(value);
    return isFinite(n) ? n.toLocaleString(undefined, { maximumFractionDigits: digits }) : text(value);
  }

  function merge(series) {
    state.max = series.max_points || state.max;
    ["equity", "price"].forEach(function (name) {
      var points = series[name];
      if (series.reset) state[name] = points.slice();
      else Array.prototype.push.apply(state[name], points);
      if (state[name].length > state.max) state[name].splice(0, state[name].length - state.max);
    });
    if (series.symbol) put("price-symbol", series.symbol);
  }

  function put(id, value) {
    var el = $(id);
    if (el.textContent !== value) el.textContent = value;
  }

  function render(s, series) {
    var st = s.status, pf = s.portfolio, risk = s.risk;
    put("who", st.strategy + " on " + st.venues.join(", ") + (st.stopping ? " (stopping: " + st.stopping + ")" : ""));
    put("mode", st.mode);
    $("paused").hidden = !st.paused;
    $("killed").hidden = !st.killed;
    $("killed").title = st.killed;
    var others = risk.active_halts.filter(function (r) { return r !== "paused" && r.indexOf("kill switch") !== 0; });
    $("halted").hidden = !others.length;
    put("halted", others.length ? "halted: " + others.join("; ") : "");
    $("pause").disabled = st.paused || !!st.killed;
    $("resume").disabled = !st.paused || !!st.killed;
    $("kill").disabled = !!st.killed;
    put("equity", number(pf.equity, 2) + " " + pf.quote_asset);
    $("return").textContent = (Number(pf.total_return) >= 0 ? "+" : "") + number(pf.total_return, 4) +
      (pf.return_pct === null ? "" : " (" + pf.return_pct.toFixed(3) + " %)");
    put("realised", number(pf.realised_pnl, 4));
    put("fees", "fees " + number(pf.fees, 4));
    put("counts", st.orders + " / " + st.fills + " / " + st.rejected);
    put("events", number(st.events, 0));
    put("rate", number(st.events_per_s, 0) + " events/s, " + st.strategy_errors + " strategy errors");
    put("uptime", duration(st.uptime_s));
    put("source", st.source);
    rows("feeds", st.feeds, function (f) {
      return [cell(f.venue), cell(f.state, f.connected ? "ok" : "down"), cell(number(f.frames, 0)), cell(f.reconnects),
              cell(f.gaps), cell(f.parse_errors), cell(f.last_message_age_s === null ? "–" : f.last_message_age_s.toFixed(1) + " s ago")];
    }, 7);
    rows("positions", pf.positions, function (p) {
      return [cell(p.venue), cell(p.symbol), cell(p.size), cell(p.avg_price), cell(p.mark), cell(p.unrealised_pnl), cell(p.realised_pnl)];
    }, 7);
    put("orders-count", s.orders.length ? "(" + s.orders.length + ")" : "");
    rows("orders", s.orders.slice(0, 100), function (o) {
      return [cell(o.client_id), cell(o.venue), cell(o.symbol), cell(o.side, o.side), cell(o.type), cell(o.size), cell(o.price)];
    }, 7);
    put("fills-count", st.fills ? "(" + st.fills + " in all)" : "");
    rows("fills", s.fills.slice(-20).reverse(), function (f) {
      return [cell(time(f.ts)), cell(f.client_id), cell(f.symbol), cell(f.side, f.side), cell(f.size), cell(f.price),
              cell(f.fee + " " + f.fee_asset), cell(f.liquidity)];
    }, 8);
    rows("halts", risk.halts.slice().reverse(), function (h) {
      return [cell(time(h.ts)), cell(h.reason), cell(h.lifted_ts >= 0 ? time(h.lifted_ts) : "active"), cell(h.count)];
    }, 4);
    charts.equity.set(state.equity);
    charts.price.set(state.price, s.fills);
  }

  function connect() {
    var source = new EventSource("/api/stream?token=" + encodeURIComponent(token));
    source.addEventListener("state", function (message) {
      var started = performance.now();
      var data = JSON.parse(message.data);
      merge(data.series);
      render(data.state, data.series);
      app.renderMs = performance.now() - started;
      app.renderMaxMs = Math.max(app.renderMaxMs, app.renderMs);
      app.updates += 1;
      app.last = data.state;
      if (!app.rendered) {
        app.rendered = true;
        app.firstRenderMs = performance.now();
      }
      if (data.final) { /* the run is over: keep its last state, stop reconnecting */
        source.close();
        app.ended = true;
        app.connected = false;
        put("link", "run ended");
        $("link").className = "badge";
        document.querySelectorAll("button[data-action]").forEach(function (b) { b.disabled = true; });
        return;
      }
      if (!app.connected) { app.connected = true; put("link", "live"); $("link").className = "badge on"; }
    });
    source.onerror = function () {
      if (app.ended) return;
      app.connected = false;
      put("link", token ? "offline (reconnecting)" : "no token: open the URL the run printed");
      $("link").className = "badge off";
    };
  }

  function toast(message) {
    var el = $("toast");
    el.textContent = message;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 4000);
  }

  function act(name) {
    return fetch("/api/actions/" + name, { method: "POST", headers: { Authorization: "Bearer " + token } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        if (!r.ok) { toast(name + " failed: " + (r.body.error || "error")); return; }
        var b = r.body;
        toast(name === "cancel-all" ? "cancel sent for " + b.cancelled + " orders" :
              name === "kill" ? "kill switch tripped" : name === "pause" ? "new orders paused" : "new orders resumed");
      })
      .catch(function (e) { toast(name + " failed: " + e); });
  }

  var pending = null;
  document.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      pending = button.dataset.action;
      put("confirm-text", button.dataset.confirm);
      $("confirm").showModal();
    });
  });
  $("confirm").addEventListener("close", function () {
    var name = pending;
    pending = null;
    if (name && $("confirm").returnValue === "ok") act(name);
  });
  connect();
})();
