// gongzhi console: small conveniences only; every page works without it.
// "使用手机定位": fill the hidden lat/lng fields from the phone's position.
document.addEventListener('click', function (e) {
  var b = e.target.closest && e.target.closest('[data-locate]');
  if (!b) { return; }
  var status = document.getElementById('locate-status');
  var fail = b.getAttribute('data-fail') || '请填写网格编码';
  if (!navigator.geolocation) { status.textContent = '此设备不支持定位，' + fail; return; }
  status.textContent = '正在定位…';
  navigator.geolocation.getCurrentPosition(function (p) {
    document.getElementById('lat').value = p.coords.latitude.toFixed(7);
    document.getElementById('lng').value = p.coords.longitude.toFixed(7);
    status.textContent = '已定位：' + p.coords.latitude.toFixed(5) + ', ' + p.coords.longitude.toFixed(5);
  }, function () { status.textContent = '定位失败，' + fail; }, { enableHighAccuracy: true, timeout: 10000 });
});
document.addEventListener('submit', function (e) {
  var msg = e.target.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});

// Photo upload: shrink on the phone (longest side 1600 px, JPEG) before sending, then reload.
document.addEventListener('change', function (e) {
  var input = e.target;
  if (!input.matches || !input.matches('[data-upload]') || !input.files || !input.files[0]) { return; }
  var status = document.getElementById('upload-status');
  status.textContent = '正在上传…';
  var file = input.files[0];
  var send = function (blob) {
    fetch(input.getAttribute('data-upload'), {
      method: 'POST', credentials: 'same-origin', body: blob,
      headers: { 'Content-Type': blob.type || 'application/octet-stream', 'X-CSRF-Token': input.getAttribute('data-csrf') }
    }).then(function (r) {
      if (r.ok) { location.reload(); return; }
      return r.json().then(function (j) { status.textContent = (j.error && j.error.message) || '上传失败'; });
    }).catch(function () { status.textContent = '网络不通，请稍后重试'; });
  };
  var img = new Image();
  img.onload = function () {
    var scale = Math.min(1, 1600 / Math.max(img.width, img.height));
    var c = document.createElement('canvas');
    c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
    c.toBlob(function (b) { send(b || file); }, 'image/jpeg', 0.85);
  };
  img.onerror = function () { send(file); };
  img.src = URL.createObjectURL(file);
});

// Report form: show only the picked category's extra questions (hidden ones are disabled, so
// they are neither validated nor sent).
document.addEventListener('change', function (e) {
  if (e.target.name !== 'category' || !e.target.form) return;
  e.target.form.querySelectorAll('fieldset.attrs').forEach(function (fs) {
    var on = fs.getAttribute('data-category') === e.target.value;
    fs.hidden = !on;
    fs.disabled = !on;
  });
});

// 志愿服务证明: the 打印 button.
document.addEventListener('click', function (e) {
  if (e.target.closest && e.target.closest('[data-print]')) { window.print(); }
});

// Boundary editor on /console/grids/{code}: drag the boundary's points on the server-drawn map;
// tap a point to select it, then add a point after it or remove it. The result is written as
// GeoJSON into the form's boundary field (kept under 高级); untouched, the field stays empty and
// the boundary is not changed. Only the outer ring is edited; holes are kept as they are.
(function () {
  var NS = 'http://www.w3.org/2000/svg';
  document.querySelectorAll('svg[data-edit-map]').forEach(function (svg) {
    var form = svg.closest('form');
    var field = form && form.querySelector('textarea[name=boundary]');
    if (!field) { return; }
    var o = svg.getAttribute('data-origin').split(',').map(Number); // min_lng, max_lat, k, scale
    var toXY = function (c) { return [(c[0] - o[0]) * o[2] * o[3], (o[1] - c[1]) * o[3]]; };
    var toLngLat = function (x, y) {
      return [+(x / (o[2] * o[3]) + o[0]).toFixed(7), +(o[1] - y / o[3]).toFixed(7)];
    };
    var parse = function (text) {
      try {
        var g = JSON.parse(text);
        if (g && g.type === 'Polygon' && g.coordinates && g.coordinates[0].length >= 4) { return g; }
      } catch (e) { /* not GeoJSON: start from the stored boundary */ }
      return null;
    };
    var stored = parse(svg.getAttribute('data-boundary'));
    if (!stored) { return; }
    var start = parse(field.value) || stored;
    var holes, ring, selected = -1, dragging = -1;
    var reset = function (g) {
      holes = g.coordinates.slice(1);
      ring = g.coordinates[0].slice(0, -1).map(function (c) { return toXY(c); });
      selected = -1;
    };
    reset(start);
    var shape = document.createElementNS(NS, 'polygon');
    shape.setAttribute('class', 'edit-shape');
    svg.appendChild(shape);
    var handles = document.createElementNS(NS, 'g');
    svg.appendChild(handles);
    var tools = form.querySelector('[data-edit-tools]');
    if (tools) { tools.hidden = false; }
    // Handles stay about 11 px on screen whatever the map's displayed width.
    var radius = function () {
      var w = svg.getBoundingClientRect().width || 300;
      return 11 * svg.viewBox.baseVal.width / w;
    };
    var write = function () {
      var pts = ring.map(function (p) { return toLngLat(p[0], p[1]); });
      pts.push(pts[0]);
      field.value = JSON.stringify({ type: 'Polygon', coordinates: [pts].concat(holes) });
    };
    var draw = function () {
      shape.setAttribute('points', ring.map(function (p) { return p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join(' '));
      while (handles.firstChild) { handles.removeChild(handles.firstChild); }
      var r = radius();
      ring.forEach(function (p, i) {
        var c = document.createElementNS(NS, 'circle');
        c.setAttribute('cx', p[0]); c.setAttribute('cy', p[1]); c.setAttribute('r', r);
        c.setAttribute('class', 'edit-point' + (i === selected ? ' on' : ''));
        c.setAttribute('data-i', i);
        handles.appendChild(c);
      });
    };
    var at = function (e) {
      var pt = svg.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      return [p.x, p.y];
    };
    svg.addEventListener('pointerdown', function (e) {
      var i = e.target.getAttribute && e.target.getAttribute('data-i');
      if (i === null || i === undefined) { return; }
      dragging = selected = +i;
      svg.setPointerCapture(e.pointerId);
      e.preventDefault();
      draw();
    });
    svg.addEventListener('pointermove', function (e) {
      if (dragging < 0) { return; }
      ring[dragging] = at(e);
      draw();
    });
    var stop = function () {
      if (dragging >= 0) { dragging = -1; write(); }
    };
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);
    if (tools) {
      tools.addEventListener('click', function (e) {
        var what = e.target.getAttribute && e.target.getAttribute('data-edit');
        if (what === 'add') {
          var i = selected >= 0 ? selected : ring.length - 1;
          var a = ring[i], b = ring[(i + 1) % ring.length];
          ring.splice(i + 1, 0, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
          selected = i + 1;
          write();
        } else if (what === 'remove') {
          if (selected < 0 || ring.length <= 3) { return; }
          ring.splice(selected, 1);
          selected = -1;
          write();
        } else if (what === 'reset') {
          reset(stored);
          field.value = '';
        }
        draw();
      });
    }
    draw();
  });
})();

// 智能分派: the top three suggestions for what was written, from /api/v1/routing/suggest. On the
// report form (no category chosen yet) a click picks the category; on the dispatch form, the unit.
(function () {
  var boxes = document.querySelectorAll('[data-routing-suggest]');
  if (!boxes.length) { return; }
  var pct = function (x) { return Math.floor(x * 100) + '%'; };
  var show = function (box, text, grid) {
    fetch('/api/v1/routing/suggest', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': box.getAttribute('data-csrf') },
      body: JSON.stringify({ text: text, grid: /^[0-9]{0,18}$/.test(grid) ? grid : '' })
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      box.textContent = '';
      if (!j || !j.suggestions.length) { box.hidden = true; return; }
      var unitMode = box.getAttribute('data-mode') === 'unit';
      var head = document.createElement('p');
      head.className = 'muted';
      head.textContent = unitMode ? '智能分派建议（点选填入承办单位）：' : '智能分派建议（点选填入问题类别）：';
      box.appendChild(head);
      j.suggestions.forEach(function (s) {
        if (unitMode && !s.unit) { return; }
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'secondary suggestion';
        var unit = s.unit ? s.unit.name : '暂无常办单位';
        b.textContent = unitMode
          ? unit + ' · ' + s.category.name + ' · 置信度 ' + pct(s.confidence)
          : s.category.name + ' · ' + unit + ' · 置信度 ' + pct(s.category_confidence);
        b.setAttribute('data-pick', unitMode ? s.unit.id : s.category.code);
        box.appendChild(b);
      });
      box.hidden = false;
    }).catch(function () { box.hidden = true; });
  };
  boxes.forEach(function (box) {
    if (box.getAttribute('data-mode') === 'unit') {
      show(box, box.getAttribute('data-text') || '', box.getAttribute('data-grid') || '');
      return;
    }
    var form = box.form || box.closest('form');
    var text = form.querySelector('[data-routing-text]');
    var select = form.querySelector('select[name=category]');
    var timer = null;
    var ask = function () {
      var t = text.value.trim();
      if (select.value || t.length < 4) { box.hidden = true; return; }
      show(box, t, (form.querySelector('input[name=grid]') || {}).value || '');
    };
    text.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(ask, 500); });
    select.addEventListener('change', ask);
    ask();
  });
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-routing-suggest] [data-pick]');
    if (!b) { return; }
    var box = b.closest('[data-routing-suggest]');
    var form = box.closest('form');
    var select = form.querySelector(box.getAttribute('data-mode') === 'unit' ? 'select[name=unit]' : 'select[name=category]');
    var value = b.getAttribute('data-pick');
    if (![].some.call(select.options, function (o) { return o.value === value; })) {
      b.textContent += '（不在可选范围内）';
      return;
    }
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    if (box.getAttribute('data-mode') !== 'unit') { box.hidden = true; }
  });
})();
// An error shown above a form is tied to it (aria-describedby), so a screen reader reads the
// error again with the form's first field; pages that know the field do this in their markup.
(function () {
  [].forEach.call(document.querySelectorAll('main .error[role=alert]'), function (err, i) {
    var form = err.nextElementSibling;
    while (form && form.tagName !== 'FORM') { form = form.nextElementSibling; }
    if (!form || form.hasAttribute('aria-describedby')) { return; }
    if (!err.id) { err.id = 'form-error-' + i; }
    form.setAttribute('aria-describedby', err.id);
    var first = form.querySelector('input:not([type=hidden]), select, textarea');
    if (first && !first.hasAttribute('aria-describedby')) { first.setAttribute('aria-describedby', err.id); }
  });
})();
// On a phone the nav scrolls sideways: bring the current page's entry into view.
(function () {
  var on = document.querySelector('header.top nav a.on');
  if (on && on.parentNode.scrollWidth > on.parentNode.clientWidth) {
    on.parentNode.scrollLeft = on.offsetLeft - (on.parentNode.clientWidth - on.offsetWidth) / 2;
  }
})();
// 朗读: read the page's main text aloud with the browser's own speech (no network); a second
// press stops. The button stays hidden where the browser cannot speak.
(function () {
  var b = document.querySelector('[data-read]');
  if (!b || !window.speechSynthesis || !window.SpeechSynthesisUtterance) { return; }
  b.hidden = false;
  b.addEventListener('click', function () {
    if (window.speechSynthesis.speaking) { window.speechSynthesis.cancel(); b.textContent = '朗读'; return; }
    var main = document.querySelector(b.getAttribute('data-read') || 'main');
    var u = new SpeechSynthesisUtterance(main.innerText.replace(/\s+/g, ' ').replace('朗读', ''));
    u.lang = 'zh-CN';
    u.rate = 0.9;
    u.onend = function () { b.textContent = '朗读'; };
    b.textContent = '停止朗读';
    window.speechSynthesis.speak(u);
  });
})();
