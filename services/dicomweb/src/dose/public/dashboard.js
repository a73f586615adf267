/*
 * The dose dashboard in the browser: signs in at the node's issuer (authorization code with PKCE,
 * RFC 7636), reads /dose/api with the token, and draws with Chart.js (served by the node). The token
 * is kept in sessionStorage for this tab only. Plain ES2020, no build step.
 */
(function () {
  'use strict';
  var body = document.body;
  var settings = { issuer: body.dataset.issuer, clientId: body.dataset.clientId, scope: body.dataset.scope, base: body.dataset.base };
  var redirectUri = location.origin + settings.base + '/callback';
  var store = window.sessionStorage;
  var charts = [];
  var LABEL = { ctdivol: 'CTDIvol', dlp: 'DLP', dlp_acquisition: 'DLP per acquisition', dap: 'DAP', agd: 'AGD per breast', agd_view: 'AGD per view' };
  var PALETTE = ['#1565c0', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f', '#ad1457', '#4e342e', '#283593'];

  function el(id) { return document.getElementById(id); }
  function say(text, error) { el('status').textContent = text; el('status').className = error ? 'error' : ''; }
  function b64url(bytes) {
    var text = '';
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function random(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }
  function discovery() {
    return fetch(settings.issuer.replace(/\/+$/, '') + '/.well-known/openid-configuration').then(function (r) {
      if (!r.ok) throw new Error('the sign-in service answered HTTP ' + r.status);
      return r.json();
    });
  }

  async function signIn() {
    var verifier = random(48);
    var state = random(16);
    var challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    store.setItem('dose.pkce', JSON.stringify({ verifier: verifier, state: state, back: location.search }));
    var config = await discovery();
    var url = new URL(config.authorization_endpoint);
    url.search = new URLSearchParams({ response_type: 'code', client_id: settings.clientId, redirect_uri: redirectUri, scope: settings.scope, state: state, code_challenge: challenge, code_challenge_method: 'S256' }).toString();
    location.assign(url.toString());
  }

  async function finishSignIn(params) {
    var saved = JSON.parse(store.getItem('dose.pkce') || 'null');
    store.removeItem('dose.pkce');
    if (params.get('error')) throw new Error('sign-in refused: ' + params.get('error'));
    if (!saved || saved.state !== params.get('state')) throw new Error('the sign-in answer does not match this page\'s request');
    var config = await discovery();
    var response = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') || '', redirect_uri: redirectUri, client_id: settings.clientId, code_verifier: saved.verifier }),
    });
    if (!response.ok) throw new Error('the sign-in could not be completed (HTTP ' + response.status + ')');
    var answer = await response.json();
    store.setItem('dose.token', JSON.stringify({ token: answer.access_token, expires: Date.now() + (answer.expires_in || 300) * 1000 }));
    history.replaceState(null, '', settings.base + '/' + (saved.back || ''));
  }

  function token() {
    var saved = JSON.parse(store.getItem('dose.token') || 'null');
    return saved && saved.expires > Date.now() + 5000 ? saved.token : undefined;
  }

  async function api(path) {
    var current = token();
    if (!current) {
      // Expired (or about to): sign in again rather than send a token that is not one, which the
      // node counts against this address's failed tokens.
      store.removeItem('dose.token');
      await signIn();
      throw new Error('signing in again');
    }
    var response = await fetch(settings.base + '/api/' + path, { headers: { authorization: 'Bearer ' + current } });
    if (response.status === 401) {
      store.removeItem('dose.token');
      await signIn();
      throw new Error('signing in again');
    }
    if (!response.ok) {
      var message = 'HTTP ' + response.status;
      try {
        var outcome = await response.json();
        message = (outcome.issue && outcome.issue[0] && outcome.issue[0].diagnostics) || message;
      } catch (ignored) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text === undefined || text === null ? '' : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function fill(tableId, rows, columns, emptyText) {
    var tbody = el(tableId).querySelector('tbody');
    tbody.textContent = '';
    if (rows.length === 0) {
      var tr = document.createElement('tr');
      var td = cell(tr, emptyText, 'empty');
      td.colSpan = columns;
      tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (row) { tbody.appendChild(row); });
  }
  function unitOf(quantity) { return { ctdivol: 'mGy', dlp: 'mGy.cm', dlp_acquisition: 'mGy.cm', dap: 'mGy.cm²', agd: 'mGy', agd_view: 'mGy' }[quantity]; }
  function chartBox(container, title) {
    var box = document.createElement('div');
    box.className = 'chart';
    var h = document.createElement('h3');
    h.textContent = title;
    var holder = document.createElement('div');
    holder.className = 'canvas';
    var canvas = document.createElement('canvas');
    holder.appendChild(canvas);
    box.appendChild(h);
    box.appendChild(holder);
    container.appendChild(box);
    return canvas;
  }

  function drawBars(distributions) {
    var container = el('bars');
    container.textContent = '';
    var quantities = [];
    distributions.forEach(function (group) { group.quantities.forEach(function (q) { if (quantities.indexOf(q.quantity) < 0) quantities.push(q.quantity); }); });
    if (quantities.length === 0) { container.innerHTML = '<p class="empty">No dose values in this period.</p>'; return; }
    quantities.forEach(function (quantity) {
      var rows = distributions.flatMap(function (group) {
        return group.quantities.filter(function (q) { return q.quantity === quantity; }).map(function (q) { return { group: group, q: q }; });
      });
      var canvas = chartBox(container, LABEL[quantity] + ' (' + unitOf(quantity) + '): median, 75th percentile and reference level');
      charts.push(new Chart(canvas, {
        type: 'bar',
        data: {
          labels: rows.map(function (r) { return [r.group.protocol, r.group.modality + ' · ' + r.group.device + ' · n=' + r.q.count]; }),
          datasets: [
            { label: 'Median', data: rows.map(function (r) { return r.q.median; }), backgroundColor: rows.map(function (r) { return r.q.medianAbove ? '#c62828' : '#1565c0'; }) },
            { label: '75th percentile', data: rows.map(function (r) { return r.q.p75; }), backgroundColor: '#90caf9' },
            { label: 'Reference level', data: rows.map(function (r) { return r.q.level === undefined ? null : r.q.level; }), backgroundColor: '#9e9e9e' },
          ],
        },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: unitOf(quantity) } } }, plugins: { legend: { position: 'bottom' } } },
      }));
    });
  }

  function drawTrends(series) {
    var container = el('trends');
    container.textContent = '';
    if (series.length === 0) { container.innerHTML = '<p class="empty">No trend in this period.</p>'; return; }
    var quantities = [];
    series.forEach(function (s) { if (quantities.indexOf(s.quantity) < 0) quantities.push(s.quantity); });
    quantities.forEach(function (quantity) {
      var mine = series.filter(function (s) { return s.quantity === quantity; });
      var periods = [];
      mine.forEach(function (s) { s.points.forEach(function (p) { if (periods.indexOf(p.period) < 0) periods.push(p.period); }); });
      periods.sort();
      var datasets = [];
      mine.forEach(function (s, index) {
        var color = PALETTE[index % PALETTE.length];
        var byPeriod = {};
        s.points.forEach(function (p) { byPeriod[p.period] = p.median; });
        datasets.push({ label: s.modality + ' ' + s.protocol, data: periods.map(function (p) { return byPeriod[p] === undefined ? null : byPeriod[p]; }), borderColor: color, backgroundColor: color, spanGaps: true, tension: 0 });
        if (s.level !== undefined && s.level !== null) {
          datasets.push({ label: 'Reference level · ' + s.protocol, data: periods.map(function () { return s.level; }), borderColor: color, borderDash: [6, 4], pointRadius: 0, borderWidth: 1, fill: false });
        }
      });
      var canvas = chartBox(container, LABEL[quantity] + ' (' + unitOf(quantity) + '): median per period');
      charts.push(new Chart(canvas, {
        type: 'line',
        data: { labels: periods, datasets: datasets },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: unitOf(quantity) } } }, plugins: { legend: { position: 'bottom' } } },
      }));
    });
  }

  function render(summary) {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    el('table-name').textContent = summary.referenceTable.name;
    var totals = el('totals');
    totals.innerHTML = '';
    [['Exams', summary.exams, ''], ['Above their reference level', summary.flaggedCount, summary.flaggedCount > 0 ? 'above' : ''], ['Protocol groups', summary.distributions.length, '']].forEach(function (item) {
      var div = document.createElement('div');
      if (item[2]) div.className = item[2];
      var strong = document.createElement('strong');
      strong.textContent = String(item[1]);
      div.appendChild(strong);
      div.appendChild(document.createTextNode(item[0]));
      totals.appendChild(div);
    });
    drawBars(summary.distributions);
    drawTrends(summary.trends);
    fill('flagged', summary.flagged.map(function (exam) {
      var tr = document.createElement('tr');
      cell(tr, exam.date);
      cell(tr, exam.studyUid, 'uid');
      cell(tr, exam.modality);
      cell(tr, exam.device);
      cell(tr, exam.protocol);
      cell(tr, exam.reference);
      cell(tr, exam.comparisons.filter(function (c) { return c.above; }).map(function (c) { return LABEL[c.quantity] + ' ' + c.value + ' > ' + c.level + ' ' + unitOf(c.quantity); }).join('; '), 'above');
      return tr;
    }), 7, 'No exam above its reference level in this period.');
    fill('distributions', summary.distributions.flatMap(function (group) {
      return group.quantities.map(function (q) {
        var tr = document.createElement('tr');
        cell(tr, group.modality);
        cell(tr, group.protocol);
        cell(tr, group.device);
        cell(tr, LABEL[q.quantity] + ' (' + unitOf(q.quantity) + ')');
        cell(tr, q.count, 'number');
        cell(tr, q.median, 'number' + (q.medianAbove ? ' above' : ''));
        cell(tr, q.p75, 'number');
        cell(tr, q.level === undefined ? '—' : q.level, 'number');
        cell(tr, q.examsAbove, 'number' + (q.examsAbove > 0 ? ' above' : ''));
        return tr;
      });
    }), 9, 'No exam in this period.');
  }

  function query() {
    var form = el('period');
    return new URLSearchParams({ from: form.from.value, to: form.to.value, bucket: form.bucket.value }).toString();
  }

  async function load() {
    body.dataset.state = 'loading';
    say('Loading…');
    var summary = await (await api('summary?' + query())).json();
    render(summary);
    say(summary.exams + ' exams from ' + summary.period.from + ' to ' + summary.period.to + '.' +
      (summary.notShown > 0 ? ' ' + summary.notShown + ' more are not shown: consent withholds them, or their study is not in this node\'s index (yet), or names no patient.' : ''));
    body.dataset.state = 'ready';
  }

  async function exportCsv() {
    var response = await api('export.csv?' + query());
    var url = URL.createObjectURL(await response.blob());
    var link = document.createElement('a');
    link.href = url;
    link.download = 'dose-' + el('period').from.value + '_' + el('period').to.value + '.csv';
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  function fail(error) {
    body.dataset.state = 'error';
    say(error.message, true);
  }

  async function start() {
    var params = new URLSearchParams(location.search);
    if (location.pathname === settings.base + '/callback') await finishSignIn(params);
    if (!token()) { await signIn(); return; }
    var form = el('period');
    var wanted = new URLSearchParams(location.search);
    var today = new Date().toISOString().slice(0, 10);
    var yearAgo = new Date(Date.now() - 365 * 86400000).toISOString().slice(0, 10);
    form.from.value = wanted.get('from') || yearAgo;
    form.to.value = wanted.get('to') || today;
    form.bucket.value = wanted.get('bucket') === 'week' ? 'week' : 'month';
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      history.replaceState(null, '', settings.base + '/?' + query());
      load().catch(fail);
    });
    el('export').addEventListener('click', function () { exportCsv().catch(fail); });
    await load();
  }

  start().catch(fail);
})();
