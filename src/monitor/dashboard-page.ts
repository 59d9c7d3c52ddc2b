// The /dashboard page: one self-contained HTML document (no CDN, no
// libraries). It polls dashboard/data every second (relative URL, so it
// works under http_base_path) and draws the charts on <canvas> by hand.
// When the monitor is protected by a token, open the page as
// /dashboard?token=... and the script sends it as a bearer token.

export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";

export function dashboardHTML(serverName: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>tsnats dashboard - ${escapeHTML(serverName)}</title>
<style>
  :root { --bg:#0f1720; --panel:#17212b; --line:#263341; --text:#d8e1ea; --muted:#8696a7; --in:#3fb4ff; --out:#ffb547; --c1:#7ddc7a; --c2:#c38bff; --bad:#ff6b6b; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--text); font:14px/1.4 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .meta { color:var(--muted); font-size:13px; }
  #status { margin-left:auto; font-size:13px; color:var(--muted); }
  #status.ok::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--c1); margin-right:6px; }
  #status.err::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--bad); margin-right:6px; }
  main { padding:16px 20px; display:grid; gap:16px; }
  .tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; }
  .tile { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .tile .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .tile .v { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; margin-top:2px; }
  .tile .s { color:var(--muted); font-size:12px; font-variant-numeric:tabular-nums; }
  .charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:16px; }
  .panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px 12px; }
  .panel h2 { font-size:13px; font-weight:600; margin:0 0 6px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
  canvas { width:100%; height:180px; display:block; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); font-size:13px; white-space:nowrap; }
  th { color:var(--muted); font-weight:500; }
  td.n, th.n { text-align:right; }
  .empty { color:var(--muted); font-style:italic; }
</style>
</head>
<body>
<header>
  <h1>tsnats</h1>
  <span class="meta" id="server-meta">connecting...</span>
  <span id="status">waiting for data</span>
</header>
<main>
  <section class="tiles">
    <div class="tile"><div class="k">Msgs in/s</div><div class="v" id="v-in-msgs-rate">-</div><div class="s">total <span id="v-in-msgs">-</span></div></div>
    <div class="tile"><div class="k">Msgs out/s</div><div class="v" id="v-out-msgs-rate">-</div><div class="s">total <span id="v-out-msgs">-</span></div></div>
    <div class="tile"><div class="k">Bytes in/s</div><div class="v" id="v-in-bytes-rate">-</div><div class="s">total <span id="v-in-bytes">-</span></div></div>
    <div class="tile"><div class="k">Bytes out/s</div><div class="v" id="v-out-bytes-rate">-</div><div class="s">total <span id="v-out-bytes">-</span></div></div>
    <div class="tile"><div class="k">Connections</div><div class="v" id="v-connections">-</div><div class="s">total <span id="v-total-connections">-</span></div></div>
    <div class="tile"><div class="k">Subscriptions</div><div class="v" id="v-subscriptions">-</div></div>
    <div class="tile"><div class="k">Slow consumers</div><div class="v" id="v-slow-consumers">-</div></div>
    <div class="tile"><div class="k">Routes</div><div class="v" id="v-routes">-</div></div>
    <div class="tile"><div class="k">Leafnodes</div><div class="v" id="v-leafnodes">-</div></div>
  </section>
  <section class="charts">
    <div class="panel"><h2>Messages per second</h2><canvas id="chart-msgs"></canvas></div>
    <div class="panel"><h2>Bytes per second</h2><canvas id="chart-bytes"></canvas></div>
    <div class="panel"><h2>Connections and subscriptions</h2><canvas id="chart-conns"></canvas></div>
    <div class="panel"><h2>Slow consumers, routes and leafnodes</h2><canvas id="chart-slow"></canvas></div>
  </section>
  <section class="charts">
    <div class="panel"><h2>Top connections by pending bytes</h2><table id="top-pending"></table></div>
    <div class="panel"><h2>Top connections by message rate</h2><table id="top-rate"></table></div>
  </section>
</main>
<script>
(function () {
  'use strict';
  var WINDOW_MS = 5 * 60 * 1000;
  var token = new URLSearchParams(location.search).get('token');
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var samples = [];
  var since = 0;
  var last = null;

  function $(id) { return document.getElementById(id); }
  function fmtNum(n) {
    if (!isFinite(n)) return '-';
    var a = Math.abs(n);
    if (a >= 1e12) return (n / 1e12).toFixed(2) + 'T';
    if (a >= 1e9) return (n / 1e9).toFixed(2) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    if (a >= 100 || n === Math.round(n)) return String(Math.round(n));
    return String(Number(n.toFixed(a < 1 ? 2 : 1)));
  }
  function fmtBytes(n) {
    if (!isFinite(n)) return '-';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + u[i];
  }
  function setText(id, s) { var e = $(id); if (e && e.textContent !== s) e.textContent = s; }

  // A line chart on a canvas: series share one y axis starting at zero.
  function drawChart(canvas, series, times, fmt) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var padL = 56, padR = 10, padT = 22, padB = 20;
    var pw = w - padL - padR, ph = h - padT - padB;
    var max = 0;
    series.forEach(function (s) { s.values.forEach(function (v) { if (v > max) max = v; }); });
    var top = niceCeil(max);
    var now = times.length ? times[times.length - 1] : Date.now();
    var t0 = now - WINDOW_MS;
    ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.strokeStyle = '#263341';
    ctx.fillStyle = '#8696a7';
    ctx.lineWidth = 1;
    for (var g = 0; g <= 4; g++) {
      var y = padT + ph - (ph * g) / 4;
      ctx.beginPath(); ctx.moveTo(padL, Math.round(y) + 0.5); ctx.lineTo(padL + pw, Math.round(y) + 0.5); ctx.stroke();
      ctx.textAlign = 'right';
      ctx.fillText(fmt((top * g) / 4), padL - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (var m = 0; m <= 5; m++) {
      var x = padL + (pw * m) / 5;
      ctx.fillText(m === 5 ? 'now' : '-' + (5 - m) + 'm', x, padT + ph + 5);
    }
    var drawn = 0;
    series.forEach(function (s, si) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      var started = false;
      for (var i = 0; i < s.values.length; i++) {
        if (times[i] < t0) continue;
        var px = padL + ((times[i] - t0) / WINDOW_MS) * pw;
        var py = padT + ph - (top > 0 ? (s.values[i] / top) * ph : 0);
        if (!started) { ctx.moveTo(px, py); started = true; } else ctx.lineTo(px, py);
        drawn++;
      }
      ctx.stroke();
      ctx.fillStyle = s.color;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      var lx = padL + si * 120;
      ctx.fillRect(lx, 8, 10, 3);
      ctx.fillStyle = '#d8e1ea';
      var cur = s.values.length ? s.values[s.values.length - 1] : 0;
      ctx.fillText(s.label + ' ' + fmt(cur), lx + 14, 10);
    });
    canvas.setAttribute('data-points', String(drawn));
    canvas.setAttribute('data-max', String(max));
  }
  function niceCeil(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function fillTable(id, rows, rateCol) {
    var t = $(id);
    var html = '<tr><th>cid</th><th>name</th><th>address</th><th class="n">pending</th><th class="n">subs</th><th class="n">' +
      (rateCol ? 'msgs/s' : 'msgs in/out') + '</th></tr>';
    if (!rows.length) html += '<tr><td colspan="6" class="empty">no connections</td></tr>';
    rows.forEach(function (r) {
      html += '<tr><td>' + r.cid + '</td><td>' + esc(r.name || '') + '</td><td>' + esc(r.addr) + '</td><td class="n">' +
        fmtBytes(r.pending_bytes) + '</td><td class="n">' + r.subscriptions + '</td><td class="n">' +
        (rateCol ? fmtNum(r.msgs_rate) : fmtNum(r.in_msgs) + ' / ' + fmtNum(r.out_msgs)) + '</td></tr>';
    });
    t.innerHTML = html;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function render() {
    if (!last) return;
    var d = last;
    setText('server-meta', d.server.name + ' - v' + d.server.version + ' - up ' + d.server.uptime);
    setText('v-in-msgs-rate', fmtNum(d.rates.in_msgs));
    setText('v-out-msgs-rate', fmtNum(d.rates.out_msgs));
    setText('v-in-bytes-rate', fmtBytes(d.rates.in_bytes));
    setText('v-out-bytes-rate', fmtBytes(d.rates.out_bytes));
    setText('v-in-msgs', String(d.totals.in_msgs));
    setText('v-out-msgs', String(d.totals.out_msgs));
    setText('v-in-bytes', String(d.totals.in_bytes));
    setText('v-out-bytes', String(d.totals.out_bytes));
    setText('v-connections', String(d.totals.connections));
    setText('v-total-connections', String(d.totals.total_connections));
    setText('v-subscriptions', String(d.totals.subscriptions));
    setText('v-slow-consumers', String(d.totals.slow_consumers));
    setText('v-routes', String(d.totals.routes));
    setText('v-leafnodes', String(d.totals.leafnodes));
    var t = samples.map(function (s) { return s[0]; });
    function col(i) { return samples.map(function (s) { return s[i]; }); }
    drawChart($('chart-msgs'), [
      { label: 'in', color: '#3fb4ff', values: col(1) },
      { label: 'out', color: '#ffb547', values: col(2) }], t, fmtNum);
    drawChart($('chart-bytes'), [
      { label: 'in', color: '#3fb4ff', values: col(3) },
      { label: 'out', color: '#ffb547', values: col(4) }], t, fmtBytes);
    drawChart($('chart-conns'), [
      { label: 'connections', color: '#7ddc7a', values: col(5) },
      { label: 'subscriptions', color: '#c38bff', values: col(6) }], t, fmtNum);
    drawChart($('chart-slow'), [
      { label: 'slow consumers', color: '#ff6b6b', values: col(7) },
      { label: 'routes', color: '#3fb4ff', values: col(8) },
      { label: 'leafnodes', color: '#7ddc7a', values: col(9) }], t, fmtNum);
    fillTable('top-pending', d.top_pending, false);
    fillTable('top-rate', d.top_rate, true);
  }

  function poll() {
    fetch('dashboard/data?since=' + since, { headers: headers, cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (d) {
        d.samples.forEach(function (s) { samples.push(s); });
        if (d.samples.length) since = d.samples[d.samples.length - 1][0];
        var cutoff = d.now - WINDOW_MS;
        while (samples.length && samples[0][0] < cutoff) samples.shift();
        last = d;
        var st = $('status');
        st.className = 'ok';
        st.textContent = 'live';
        render();
      })
      .catch(function (e) {
        var st = $('status');
        st.className = 'err';
        st.textContent = 'no data: ' + e.message;
      })
      .then(function () { setTimeout(poll, 1000); });
  }
  window.addEventListener('resize', render);
  poll();
})();
</script>
</body>
</html>
`;
}

export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
