// gongzhi console: small conveniences only; every page works without it.
// "使用手机定位": fill the hidden lat/lng fields from the phone's position.
document.addEventListener('click', function (e) {
  var b = e.target.closest && e.target.closest('[data-locate]');
  if (!b) { return; }
  var status = document.getElementById('locate-status');
  if (!navigator.geolocation) { status.textContent = '此设备不支持定位，请填写网格编码'; return; }
  status.textContent = '正在定位…';
  navigator.geolocation.getCurrentPosition(function (p) {
    document.getElementById('lat').value = p.coords.latitude.toFixed(7);
    document.getElementById('lng').value = p.coords.longitude.toFixed(7);
    status.textContent = '已定位：' + p.coords.latitude.toFixed(5) + ', ' + p.coords.longitude.toFixed(5);
  }, function () { status.textContent = '定位失败，请填写网格编码'; }, { enableHighAccuracy: true, timeout: 10000 });
});
document.addEventListener('submit', function (e) {
  var msg = e.target.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) { e.preventDefault(); }
});
