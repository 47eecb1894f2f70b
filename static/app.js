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
