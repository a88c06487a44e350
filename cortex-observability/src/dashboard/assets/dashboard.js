// The Cortex operations dashboard: reads /api/app once and /api/stream (server-sent events)
// live. Plain DOM, no dependency; every value is set with textContent (never parsed as HTML).
(function () {
  "use strict";
  var base = document.body.dataset.base;
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";
  var snapshots = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (cell) { tr.appendChild(cell); });
    return tr;
  }
  function td(text, className) { return el("td", className, text); }
  function fill(tbody, rows, empty, columns) {
    tbody.replaceChildren();
    if (!rows.length) {
      var cell = td(empty, "dim");
      cell.colSpan = columns;
      tbody.appendChild(row([cell]));
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function ms(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 1000) return (value / 1000).toFixed(2) + " s";
    if (value >= 10) return value.toFixed(0) + " ms";
    return value.toFixed(value >= 1 ? 1 : 2) + " ms";
  }
  function pct(value) { return (value * 100).toFixed(value > 0 && value < 0.01 ? 2 : 1) + " %"; }
  function rate(value) { return value >= 10 ? value.toFixed(0) : value.toFixed(2); }
  function time(unixMs) { return new Date(unixMs).toLocaleTimeString(); }
  function duration(secs) {
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    return "up " + (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }
  function method(name) { return el("span", "method " + name, name); }

  function renderApp(app) {
    $("service").textContent = app.service || "Cortex app";
    $("profile").textContent = app.profile;
    $("version").textContent = app.cortex_version;
    document.title = (app.service || "Cortex") + " · operations";

    $("route-count").textContent = app.routes.length + " routes";
    fill($("route-table").tBodies[0], app.routes.map(function (r) {
      var m = td(""); m.appendChild(method(r.method));
      var origin = r.plugin ? "plugin " + r.plugin : r.origin;
      return row([m, td(r.path, "route"), td(r.handler, "dim"), td(origin, "dim")]);
    }), "no routes", 4);

    fill($("plugins").tBodies[0], app.plugins.map(function (p) {
      return row([td(p.name, "route"), td(p.version), td(p.state), td(p.config_section ? "[" + p.config_section + "]" : "–", "dim")]);
    }), "no plugins", 4);

    var providers = (app.graph && app.graph.providers) || [];
    $("graph-count").textContent = providers.length + " providers";
    var list = $("graph");
    list.replaceChildren();
    providers.forEach(function (p) {
      var item = el("li");
      item.appendChild(el("span", "type", p.type + (p.name ? " (" + p.name + ")" : "")));
      item.appendChild(el("span", "scope", p.scope + (p.kind ? " · " + p.kind : "")));
      if (p.dependencies && p.dependencies.length) {
        var deps = el("ul");
        p.dependencies.forEach(function (d) {
          var label = d.type + (d.name ? " (" + d.name + ")" : "") + (d.optional ? "?" : "") + (d.field ? "  ← " + d.field : "");
          deps.appendChild(el("li", null, label));
        });
        item.appendChild(deps);
      }
      list.appendChild(item);
    });
    $("mermaid").textContent = app.mermaid;
    $("config").textContent = JSON.stringify(app.config, null, 2);
  }

  function renderLive(live) {
    snapshots += 1;
    document.body.dataset.snapshots = String(snapshots);
    var stats = live.stats, all = stats.overall;
    $("kpi-rate").textContent = rate(all.rate);
    $("kpi-total").textContent = String(all.requests);
    $("kpi-window").textContent = "(" + stats.window_secs + " s)";
    var errors = $("kpi-errors");
    errors.textContent = pct(all.error_rate);
    errors.classList.toggle("bad", all.errors > 0);
    $("kpi-p50").textContent = ms(all.p50_ms);
    $("kpi-p95").textContent = ms(all.p95_ms);
    $("kpi-p99").textContent = ms(all.p99_ms);
    $("uptime").textContent = duration(live.uptime_secs);
    $("updated").textContent = "updated " + time(live.time_ms);

    sparkline(stats.requests_per_second, stats.errors_per_second);

    var busiest = stats.routes.reduce(function (max, r) { return Math.max(max, r.requests); }, 1);
    fill($("route-stats").tBodies[0], stats.routes.map(function (r) {
      var bar = el("div", "bar");
      bar.style.width = Math.max(2, Math.round((100 * r.requests) / busiest)) + "%";
      var barCell = td(""); barCell.appendChild(bar);
      return row([
        td(r.route, "route"), td(rate(r.rate), "num"), td(r.requests, "num"),
        td(r.errors, "num" + (r.errors ? " bad" : "")), td(pct(r.error_rate), "num" + (r.errors ? " bad" : "")),
        td(ms(r.p50_ms), "num"), td(ms(r.p95_ms), "num"), td(ms(r.p99_ms), "num"), barCell
      ]);
    }), "no requests in the last 60 s", 9);

    var health = live.health, pill = $("health-status");
    var status = live.draining ? "draining" : (health ? health.status : "unknown");
    pill.textContent = "health " + status;
    pill.className = "pill " + status;
    var checks = $("health-checks");
    checks.replaceChildren();
    if (!health || !health.checks.length) {
      checks.appendChild(el("li", "dim", "no health checks registered"));
    } else {
      health.checks.forEach(function (c) {
        var item = el("li");
        item.appendChild(el("span", "name", c.name));
        item.appendChild(el("span", "dim", c.duration_ms + " ms"));
        item.appendChild(el("span", "status " + c.status, c.status));
        if (c.error || c.reason) item.title = c.error || c.reason;
        checks.appendChild(item);
      });
    }

    fill($("server-errors").tBodies[0], stats.recent_errors.map(function (e) {
      return row([td(time(e.time_ms), "dim"), td(e.route, "route"), td(e.status, "num bad"),
        td(e.request_id || "–", "route dim"), td(ms(e.latency_ms), "num")]);
    }), "none", 5);

    var logs = $("log-errors");
    logs.replaceChildren();
    if (!live.log_errors_captured) {
      logs.appendChild(el("li", "dim", "not captured: Cortex's log subscriber is not installed in this process"));
    } else if (!live.log_errors.length) {
      logs.appendChild(el("li", "dim", "none"));
    }
    live.log_errors.forEach(function (e) {
      var item = el("li");
      item.appendChild(el("div", "meta", time(e.time_ms) + "  " + e.target));
      item.appendChild(el("div", "msg", e.message));
      logs.appendChild(item);
    });
  }

  function sparkline(requests, errors) {
    var svg = $("sparkline");
    svg.replaceChildren();
    var width = 600, height = 90, n = requests.length, w = width / n;
    var max = Math.max(1, Math.max.apply(null, requests));
    for (var i = 0; i < n; i++) {
      var h = (requests[i] / max) * (height - 4), eh = (errors[i] / max) * (height - 4);
      if (h > 0) svg.appendChild(rect(i * w + 1, height - h, w - 2, h, "ok"));
      if (eh > 0) svg.appendChild(rect(i * w + 1, height - eh, w - 2, eh, "err"));
    }
    var axis = document.createElementNS(SVG, "line");
    axis.setAttribute("x1", "0"); axis.setAttribute("x2", String(width));
    axis.setAttribute("y1", String(height - 0.5)); axis.setAttribute("y2", String(height - 0.5));
    axis.setAttribute("class", "axis");
    svg.appendChild(axis);
  }
  function rect(x, y, w, h, className) {
    var r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", x.toFixed(1)); r.setAttribute("y", y.toFixed(1));
    r.setAttribute("width", w.toFixed(1)); r.setAttribute("height", h.toFixed(1));
    r.setAttribute("class", className);
    return r;
  }

  function connection(state, text) {
    $("connection").className = "conn " + state;
    $("connection-text").textContent = text;
  }

  fetch(base + "/api/app", { credentials: "same-origin" })
    .then(function (response) {
      if (response.status === 401) { window.location.assign(base); throw new Error("signed out"); }
      return response.json();
    })
    .then(renderApp)
    .catch(function (error) { connection("lost", "cannot load the app: " + error.message); });

  // EventSource sends the session cookie; it reconnects by itself after a drop.
  var stream = new EventSource(base + "/api/stream");
  stream.addEventListener("snapshot", function (event) {
    connection("live", "live");
    renderLive(JSON.parse(event.data));
  });
  stream.onerror = function () {
    if (stream.readyState !== EventSource.CLOSED) { connection("lost", "reconnecting…"); return; }
    // Refused (the session ended) or gone: sign in again, or retry in a moment.
    connection("lost", "disconnected");
    fetch(base + "/api/live", { credentials: "same-origin" })
      .then(function (response) { if (response.status === 401) window.location.assign(base); })
      .catch(function () {})
      .then(function () { window.setTimeout(function () { window.location.reload(); }, 5000); });
  };
})();
