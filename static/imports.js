// 批量导入: post the chosen file as the body of the import API, show upload progress, then the
// result and every bad row. No library: XMLHttpRequest gives upload progress.
(function () {
  var form = document.getElementById('import-form');
  if (!form) return;
  var select = document.getElementById('import-ledger');
  var status = document.getElementById('import-status');
  var bar = document.getElementById('import-progress');
  var errors = document.getElementById('import-errors');
  var tbody = document.querySelector('#import-error-table tbody');
  var mode = 'check';
  select.addEventListener('change', function () {
    var opt = select.options[select.selectedIndex];
    document.getElementById('import-columns').textContent = '列：' + opt.getAttribute('data-columns');
    document.getElementById('import-template').href = '/api/v1/imports/' + select.value + '/template.xlsx';
  });
  form.querySelectorAll('button[type=submit]').forEach(function (b) {
    b.addEventListener('click', function () { mode = b.value; });
  });
  function cell(tr, text) {
    var td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var file = document.getElementById('import-file').files[0];
    if (!file) { status.textContent = '请选择文件'; return; }
    var dry = mode !== 'import';
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/imports/' + encodeURIComponent(select.value) + '?dry_run=' + dry);
    xhr.setRequestHeader('x-csrf-token', form.getAttribute('data-csrf'));
    xhr.setRequestHeader('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    bar.hidden = false; bar.value = 0;
    status.textContent = '正在上传…';
    errors.hidden = true; tbody.textContent = '';
    form.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(e.loaded * 100 / e.total);
        status.textContent = e.loaded < e.total ? '正在上传… ' + bar.value + '%' : '已上传，正在逐行检查…';
      }
    };
    xhr.onloadend = function () {
      form.querySelectorAll('button').forEach(function (b) { b.disabled = false; });
      bar.hidden = true;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (!body) { status.textContent = '上传失败，请稍后重试'; return; }
      if (body.error) { status.textContent = body.error.message; return; }
      if (body.errors && body.errors.length) {
        status.textContent = (body.rows ? '共' + body.rows + '行，其中' : '文件中有') + body.errors.length + '处问题，未保存任何一行。请改正后重新检查。';
        body.errors.forEach(function (e) {
          var tr = document.createElement('tr');
          cell(tr, e.row); cell(tr, e.column); cell(tr, e.message);
          tbody.appendChild(tr);
        });
        errors.hidden = false;
        return;
      }
      if (body.dry_run) {
        status.textContent = '检查通过：共' + body.rows + '行，将新增' + (body.rows - body.skipped) + '行' +
          (body.skipped ? '，' + body.skipped + '行此前已导入' : '') + '。确认无误后请点「导入」。';
      } else {
        status.textContent = '导入完成：新增' + body.created + '行' + (body.skipped ? '，' + body.skipped + '行此前已导入，未重复登记' : '') + '。';
      }
    };
    xhr.send(file);
  });
})();
