// The command centre's screen: live figures from the server-sent event stream, with polling
// when the stream is unavailable. No library; the server draws the map and the chart.
(function () {
  'use strict';
  var root = document.querySelector('[data-command]');
  if (!root) return;
  var grid = root.getAttribute('data-grid');
  var state = root.querySelector('[data-live-state]');
  var pending = null;
  var polling = null;

  function setState(mode, text) {
    root.setAttribute('data-live', mode);
    if (state) state.textContent = text;
  }

  function pct(x) { return (x * 100).toFixed(1) + '%'; }

  function applyFigures(d) {
    var c = d.cases;
    var figs = {
      reported_today: c.reported_today, open: c.open, overdue: c.overdue, closed_today: c.closed_today,
      on_time_rate_month: pct(c.on_time_rate_month), reported_month: c.reported_month, on_time_month: c.on_time_month,
      volunteers_active: d.volunteers.active, online: d.online, volunteers_points: d.volunteers.points,
      council_meetings: d.councils.meetings_this_week, resolutions_overdue: d.councils.resolutions_overdue,
      opinions_waiting: d.councils.opinions_waiting
    };
    Object.keys(figs).forEach(function (k) {
      root.querySelectorAll('[data-fig="' + k + '"]').forEach(function (el) { el.textContent = String(figs[k]); });
    });
    var over = root.querySelector('[data-tile="overdue"]');
    if (over) over.classList.toggle('warn', c.overdue > 0);
    var ticker = root.querySelector('[data-ticker]');
    if (ticker) {
      ticker.textContent = '';
      d.latest.forEach(function (t) {
        var li = document.createElement('li');
        if (t.alarm) li.className = 'alarm';
        var a = document.createElement('a');
        a.href = '/console/cases/' + t.id;
        a.textContent = (t.alarm ? '【告警】' : '') + t.category;
        var s = document.createElement('span');
        s.className = 'muted';
        s.textContent = ' ' + t.grid + ' · ' + t.status_label;
        li.appendChild(a);
        li.appendChild(s);
        ticker.appendChild(li);
      });
    }
    var instr = root.querySelector('[data-instructions]');
    if (instr) {
      instr.textContent = '';
      d.open_instructions.forEach(function (i) {
        var li = document.createElement('li');
        var a = document.createElement('a');
        a.href = '/console/broadcasts/' + i.id;
        a.textContent = i.title;
        var s = document.createElement('span');
        s.className = 'muted';
        s.textContent = ' 已确认 ' + i.acknowledged + '/' + i.recipients;
        li.appendChild(a);
        li.appendChild(s);
        instr.appendChild(li);
      });
      if (!d.open_instructions.length) {
        var none = document.createElement('li');
        none.className = 'muted';
        none.textContent = '没有待确认的指令';
        instr.appendChild(none);
      }
    }
    root.setAttribute('data-updated', d.generated_at);
  }

  function refresh() {
    pending = null;
    var q = '?grid=' + encodeURIComponent(grid);
    fetch('/api/v1/dashboard' + q, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(applyFigures)
      .catch(function () { setState('error', '更新失败，稍后重试'); });
    fetch('/console/command/map' + q, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (svg) { var m = root.querySelector('[data-map]'); if (m) m.innerHTML = svg; })
      .catch(function () {});
  }

  // Many changes in a burst make one reload.
  function soon() { if (!pending) pending = setTimeout(refresh, 300); }

  function poll() {
    if (polling) return;
    setState('poll', '定时刷新中');
    polling = setInterval(refresh, 30000);
  }

  if (window.EventSource) {
    var es = new EventSource('/api/v1/events?grid=' + encodeURIComponent(grid));
    es.addEventListener('hello', function () {
      if (polling) { clearInterval(polling); polling = null; }
      setState('sse', '实时更新中');
    });
    es.addEventListener('case', function (ev) {
      root.setAttribute('data-last-event', ev.data);
      soon();
    });
    es.addEventListener('resync', soon);
    es.onerror = function () { if (es.readyState === EventSource.CLOSED) poll(); };
  } else {
    poll();
  }
  // Deadlines pass without an event: overdue counts move with the clock.
  setInterval(refresh, 120000);
})();
