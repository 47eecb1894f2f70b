// gongzhi 一键智达: live voice and video calls between grid staff, in the page.
// Signalling goes through our own server's WebSocket (/api/v1/calls/socket); media goes browser to
// browser (WebRTC) with no STUN or TURN server: host candidates only, so it works on an isolated
// network where both ends reach each other. No third-party code.
//
// Buttons it handles anywhere in the console:
//   data-call-user="USER" data-call-grid="CODE" data-call-kind="voice|video"  call a person
//   data-call-command data-call-kind="…"                                     call the command centre
//   data-call-grid="CODE" (without data-call-user)                           call whoever of that
//                                                                            grid is online (the
//                                                                            command screen's entry)
(function () {
  'use strict';
  var ws = null;
  var me = null;
  var retry = 1000;
  var call = null; // {id, kind, role: 'caller'|'callee', peer, pc, local, pending: [], answeredAt, timer}
  var incoming = {}; // call id -> banner element

  function $(sel) { return document.querySelector(sel); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }
  function status(text) {
    var s = $('[data-call-status]');
    if (s) { s.textContent = text; }
  }
  function send(msg) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(msg)); return true; }
    return false;
  }
  function kindWords(k) { return k === 'video' ? '视频' : '语音'; }
  function clock(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    var m = Math.floor(s / 60);
    s = s % 60;
    return (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s;
  }

  // ---- the socket ----
  function connect() {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/calls/socket';
    try { ws = new WebSocket(url); } catch (e) { return later(); }
    ws.onopen = function () { retry = 1000; status('通话服务已连接，可接听来电'); };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(m);
    };
    ws.onclose = function () {
      status('通话服务已断开，正在重连…');
      if (call) { endView('连接已断开'); }
      later();
    };
  }
  function later() {
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 30000);
  }
  // Keep the socket warm behind proxies that drop quiet connections.
  setInterval(function () { send({ t: 'ping' }); }, 25000);

  function onMessage(m) {
    switch (m.t) {
      case 'hello': me = m; document.documentElement.setAttribute('data-calls', 'ready'); break;
      case 'incoming': ring(m); break;
      case 'cancel': unring(m.call, m.reason); break;
      case 'ringing':
        if (call && !call.id) { call.id = m.call; viewStatus('正在呼叫' + m.to_name + '…'); }
        break;
      case 'accepted': if (call && call.id === m.call) { viewStatus(m.by + ' 已接听，正在连接…'); offer(); } break;
      case 'connected': if (call && call.id === m.call) { viewStatus('正在连接…'); } break;
      case 'offer': if (call && call.id === m.call) { answer(m.sdp); } break;
      case 'answer':
        if (call && call.id === m.call && call.pc) {
          call.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).then(flushIce).catch(fail);
        }
        break;
      case 'ice': if (call && call.id === m.call) { addIce(m.candidate); } break;
      case 'ended':
        if (call && (call.id === m.call || !call.id)) {
          var missed = m.reason === 'offline' ? '对方不在线，已记为未接' : m.reason === 'busy' ? '对方正在通话中，已记为未接' : '无人接听';
          var words = { answered: '通话结束', missed: missed,
            declined: '对方已拒绝', failed: '连接失败' }[m.outcome] || '通话结束';
          if (m.duration_ms) { words += '，时长 ' + clock(m.duration_ms); }
          endView(words);
        }
        unring(m.call);
        break;
      case 'error':
        if (call && !call.pc && (!call.id || m.call === call.id)) { endView(m.message); } else { status(m.message); }
        break;
    }
  }

  // ---- ringing (incoming) ----
  function bannerBox() {
    var box = $('#call-banners');
    if (!box) {
      box = el('div', 'call-banners');
      box.id = 'call-banners';
      box.setAttribute('role', 'alert');
      document.body.appendChild(box);
    }
    return box;
  }
  function ring(m) {
    var b = el('div', 'call-banner');
    b.setAttribute('data-incoming', m.call);
    var who = m.from.name + (m.from.role_label ? '（' + m.from.role_label + '）' : '');
    b.appendChild(el('div', 'call-banner-text', (m.command ? '呼叫指挥中心：' : '来电：') + who + ' · ' + kindWords(m.kind) + '通话'));
    var yes = el('button', 'call-accept', '接听');
    yes.type = 'button';
    yes.setAttribute('data-call-accept', m.call);
    var no = el('button', 'secondary call-decline', '拒绝');
    no.type = 'button';
    no.setAttribute('data-call-decline', m.call);
    var acts = el('div', 'call-banner-acts');
    acts.appendChild(yes);
    acts.appendChild(no);
    b.appendChild(acts);
    bannerBox().appendChild(b);
    incoming[m.call] = { el: b, m: m };
    beep();
  }
  function unring(id, reason) {
    var r = incoming[id];
    if (!r) { return; }
    delete incoming[id];
    if (reason === 'taken') {
      r.el.querySelector('.call-banner-text').textContent = '已由他人接听';
      r.el.querySelector('.call-banner-acts').remove();
      setTimeout(function () { r.el.remove(); }, 2500);
    } else {
      r.el.remove();
    }
  }
  // A short tone, where the browser allows sound without a gesture.
  function beep() {
    try {
      var A = window.AudioContext || window.webkitAudioContext;
      var ctx = new A();
      var o = ctx.createOscillator();
      var g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.08;
      o.connect(g);
      g.connect(ctx.destination);
      o.start();
      setTimeout(function () { o.stop(); ctx.close(); }, 400);
    } catch (e) { /* no sound: the banner still shows */ }
  }

  // ---- the call view ----
  function view(kind, title) {
    var v = el('div', 'call-view');
    v.id = 'call-view';
    v.setAttribute('data-kind', kind);
    v.setAttribute('role', 'dialog');
    v.setAttribute('aria-label', kindWords(kind) + '通话');
    v.appendChild(el('div', 'call-title', title));
    v.appendChild(el('div', 'call-state', ''));
    var stage = el('div', 'call-stage');
    var remote = el('video', 'call-remote');
    remote.autoplay = true;
    remote.playsInline = true;
    var local = el('video', 'call-local');
    local.autoplay = true;
    local.playsInline = true;
    local.muted = true;
    stage.appendChild(remote);
    stage.appendChild(local);
    v.appendChild(stage);
    v.appendChild(el('div', 'call-time', '00:00'));
    var acts = el('div', 'call-acts');
    var mute = el('button', 'secondary', '静音');
    mute.type = 'button';
    mute.setAttribute('data-call-mute', '');
    var hang = el('button', 'call-hangup', '挂断');
    hang.type = 'button';
    hang.setAttribute('data-call-hangup', '');
    acts.appendChild(mute);
    acts.appendChild(hang);
    v.appendChild(acts);
    document.body.appendChild(v);
    return v;
  }
  function viewStatus(text) {
    var s = $('#call-view .call-state');
    if (s) { s.textContent = text; }
  }
  function endView(text) {
    var c = call;
    call = null;
    window.gongzhiCall = null;
    if (c) {
      if (c.timer) { clearInterval(c.timer); }
      if (c.pc) { c.pc.close(); }
      if (c.local) { c.local.getTracks().forEach(function (t) { t.stop(); }); }
    }
    var v = $('#call-view');
    if (v) {
      v.setAttribute('data-ended', '1');
      viewStatus(text);
      var acts = v.querySelector('.call-acts');
      if (acts) { acts.remove(); }
      setTimeout(function () {
        v.remove();
        // The duty page shows the call in its log.
        if (location.pathname === '/console/calls' && !call) { location.reload(); }
      }, 2000);
    }
  }

  // ---- media and the peer connection ----
  function media(kind) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(new Error('此浏览器不支持音视频通话（需 HTTPS 或本机访问）'));
    }
    return navigator.mediaDevices.getUserMedia(kind === 'video'
      ? { audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } }
      : { audio: true, video: false });
  }
  function peer() {
    // No ICE servers: host candidates only (see the header).
    var pc = new RTCPeerConnection({ iceServers: [] });
    call.pc = pc;
    window.gongzhiCall = call;
    call.local.getTracks().forEach(function (t) { pc.addTrack(t, call.local); });
    pc.onicecandidate = function (e) {
      if (e.candidate && call) { send({ t: 'ice', call: call.id, candidate: e.candidate.toJSON() }); }
    };
    pc.ontrack = function (e) {
      var r = $('#call-view .call-remote');
      if (r && e.streams[0] && r.srcObject !== e.streams[0]) { r.srcObject = e.streams[0]; }
    };
    pc.onconnectionstatechange = function () {
      if (!call || call.pc !== pc) { return; }
      if (pc.connectionState === 'connected') { connected(); }
      if (pc.connectionState === 'failed') { send({ t: 'hangup', call: call.id, failed: true }); endView('连接失败'); }
    };
    return pc;
  }
  function connected() {
    if (call.answeredAt) { return; }
    call.answeredAt = Date.now();
    viewStatus('通话中 · ' + call.peer);
    var t = $('#call-view .call-time');
    var v = $('#call-view');
    call.timer = setInterval(function () {
      if (!call) { return; }
      if (t) { t.textContent = clock(Date.now() - call.answeredAt); }
      stats(v);
    }, 1000);
  }
  // Bytes sent and received so far, on the view (the browser test reads them; so can a person).
  function stats(v) {
    if (!call || !call.pc || !v) { return; }
    call.pc.getStats().then(function (r) {
      var sent = 0;
      var recv = 0;
      r.forEach(function (s) {
        if (s.type === 'outbound-rtp') { sent += s.bytesSent || 0; }
        if (s.type === 'inbound-rtp') { recv += s.bytesReceived || 0; }
      });
      v.setAttribute('data-bytes-sent', String(sent));
      v.setAttribute('data-bytes-received', String(recv));
    });
  }
  function offer() {
    var pc = peer();
    pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).then(function () {
      send({ t: 'offer', call: call.id, sdp: pc.localDescription.sdp });
    }).catch(fail);
  }
  function answer(sdp) {
    var pc = call.pc || peer();
    pc.setRemoteDescription({ type: 'offer', sdp: sdp }).then(flushIce).then(function () {
      return pc.createAnswer();
    }).then(function (a) { return pc.setLocalDescription(a); }).then(function () {
      send({ t: 'answer', call: call.id, sdp: pc.localDescription.sdp });
    }).catch(fail);
  }
  function addIce(c) {
    if (call.pc && call.pc.remoteDescription) {
      call.pc.addIceCandidate(c).catch(function () {});
    } else {
      call.pending.push(c);
    }
  }
  function flushIce() {
    var list = call ? call.pending.splice(0) : [];
    list.forEach(function (c) { call.pc.addIceCandidate(c).catch(function () {}); });
  }
  function fail(e) {
    if (call) {
      if (call.id) { send({ t: 'hangup', call: call.id, failed: true }); }
      endView((e && e.message) || '连接失败');
    }
  }

  // ---- placing and taking calls ----
  function start(target, grid, kind, name) {
    if (call) { status('您正在通话中'); return; }
    if (!ws || ws.readyState !== 1) { status('通话服务未连接，请稍后再试'); return; }
    call = { id: null, kind: kind, role: 'caller', peer: name, pc: null, local: null, pending: [] };
    view(kind, (target === 'command' ? '呼叫指挥中心' : '呼叫 ' + name) + ' · ' + kindWords(kind));
    viewStatus('正在打开' + (kind === 'video' ? '摄像头和' : '') + '麦克风…');
    media(kind).then(function (s) {
      if (!call) { s.getTracks().forEach(function (t) { t.stop(); }); return; }
      call.local = s;
      var l = $('#call-view .call-local');
      if (l) { l.srcObject = s; }
      var msg = { t: 'ring', to: target, kind: kind };
      if (grid) { msg.grid = grid; }
      send(msg);
      viewStatus('正在呼叫…');
    }).catch(function (e) { endView('无法使用麦克风或摄像头：' + (e.message || e.name)); });
  }
  function take(id) {
    var r = incoming[id];
    if (!r || call) { return; }
    var m = r.m;
    r.el.remove();
    delete incoming[id];
    call = { id: id, kind: m.kind, role: 'callee', peer: m.from.name, pc: null, local: null, pending: [] };
    view(m.kind, m.from.name + ' · ' + kindWords(m.kind) + '通话');
    viewStatus('正在打开' + (m.kind === 'video' ? '摄像头和' : '') + '麦克风…');
    media(m.kind).then(function (s) {
      if (!call) { s.getTracks().forEach(function (t) { t.stop(); }); return; }
      call.local = s;
      var l = $('#call-view .call-local');
      if (l) { l.srcObject = s; }
      peer();
      send({ t: 'accept', call: id });
    }).catch(function (e) {
      send({ t: 'decline', call: id });
      endView('无法使用麦克风或摄像头：' + (e.message || e.name));
    });
  }
  // The command screen's entry: call whoever of a grid is online.
  function callGrid(grid, kind) {
    fetch('/api/v1/grids/' + encodeURIComponent(grid) + '/reachable', { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var on = (d.items || []).filter(function (x) { return x.online; });
        if (!on.length) { status('该网格暂无在线人员，请拨打电话'); window.alert('该网格暂无在线人员，请拨打电话联系'); return; }
        start(on[0].user_id, grid, kind, on[0].name);
      })
      .catch(function () { status('查询在线人员失败'); });
  }

  document.addEventListener('click', function (e) {
    var t = e.target.closest && e.target.closest('[data-call-user],[data-call-command],[data-call-grid],[data-call-accept],[data-call-decline],[data-call-hangup],[data-call-mute]');
    if (!t) { return; }
    var kind = t.getAttribute('data-call-kind') === 'voice' ? 'voice' : 'video';
    if (t.hasAttribute('data-call-accept')) { take(t.getAttribute('data-call-accept')); return; }
    if (t.hasAttribute('data-call-decline')) {
      var id = t.getAttribute('data-call-decline');
      send({ t: 'decline', call: id });
      unring(id);
      return;
    }
    if (t.hasAttribute('data-call-hangup')) {
      if (call) {
        if (call.id) { send({ t: 'hangup', call: call.id }); }
        if (!call.id) { endView('已取消'); }
      }
      return;
    }
    if (t.hasAttribute('data-call-mute')) {
      if (call && call.local) {
        var on = !t.classList.contains('on');
        call.local.getAudioTracks().forEach(function (a) { a.enabled = !on; });
        t.classList.toggle('on', on);
        t.textContent = on ? '取消静音' : '静音';
      }
      return;
    }
    if (t.hasAttribute('data-call-command')) { start('command', null, kind, '指挥中心'); return; }
    if (t.hasAttribute('data-call-user')) {
      start(t.getAttribute('data-call-user'), t.getAttribute('data-call-grid'), kind, t.getAttribute('data-call-name') || '');
      return;
    }
    callGrid(t.getAttribute('data-call-grid'), kind);
  });

  connect();
})();
