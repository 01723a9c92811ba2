// The process owners' modeller page: bpmn-js (the bpmn.io Modeler with its properties panel and beian's groups,
// loaded before this file as window.BeianModeler from static/vendor/beian-modeller/, built by tools/bpmnio) edits a
// deployed version of a diagram; "检查" sends the saved XML to the server's check and marks every element
// with a finding on the canvas (a marker and an overlay with the message); "部署" sends it to be checked again and
// deployed. Every request carries the session's CSRF token in the X-CSRF-Token header.
//
// Messages come from the server and element names from the diagram: they are only ever set as textContent.
(function () {
  'use strict';

  var root = document.getElementById('modeller');
  if (!root) {
    return;
  }
  var status = document.getElementById('modeller-status');
  var findingsBox = document.getElementById('modeller-findings');
  var findingsList = findingsBox.querySelector('ul');
  var buttons = ['modeller-check', 'modeller-deploy', 'modeller-download'].map(function (id) {
    return document.getElementById(id);
  });

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }

  if (typeof window.BeianModeler !== 'function') {
    say('网页建模器（bpmn-js）未能载入：请运行 npm ci --prefix tools/bpmnio 后刷新本页', 'error');
    return;
  }

  // The choices of the properties panel (roles, forms, articles, …), embedded by the server as JSON.
  var catalogue = JSON.parse(document.getElementById('modeller-catalogue').textContent);
  var modeler = window.BeianModeler({ container: '#modeller-canvas', panel: '#modeller-properties',
    catalogue: catalogue });
  window.beianModeler = modeler; // for the browser tests, which drive bpmn-js through its own API
  // Forms made or changed in the form editor (static/form-editor.js), by file name: sent with the diagram.
  var editedForms = {};

  document.addEventListener('beian:edit-form', function (event) {
    var element = event.detail.element;
    var known = catalogue.forms.filter(function (f) { return f.file === event.detail.file; })[0];
    window.BeianFormEditor.open({
      file: event.detail.file,
      isNew: event.detail.isNew,
      schema: editedForms[event.detail.file] || (known ? known.schema : { type: 'object', properties: {} }),
      onSave: function (file, schema) {
        editedForms[file] = schema;
        var entry = catalogue.forms.filter(function (f) { return f.file === file; })[0];
        if (entry) {
          entry.schema = schema;
          entry.title = schema.title;
        } else {
          catalogue.forms.push({ file: file, title: schema.title, schema: schema });
        }
        // The task takes the form (an undoable change, like any other in the panel).
        setTaskForm(element, file);
        say('表单 ' + file + ' 已保存在本次修改中：检查或部署时一并提交', 'ok');
      }
    });
  });

  function setTaskForm(element, file) {
    var modeling = modeler.get('modeling');
    var moddle = modeler.get('moddle');
    var bo = element.businessObject;
    var extensions = bo.extensionElements;
    if (!extensions) {
      extensions = moddle.create('bpmn:ExtensionElements', { values: [] });
      extensions.$parent = bo;
      modeling.updateProperties(element, { extensionElements: extensions });
    }
    var properties = extensions.values.filter(function (v) { return v.$type === 'spiffworkflow:properties'; })[0];
    if (!properties) {
      properties = moddle.create('spiffworkflow:properties', { properties: [] });
      properties.$parent = extensions;
      modeling.updateModdleProperties(element, extensions, { values: extensions.values.concat([properties]) });
    }
    var existing = properties.properties.filter(function (p) { return p.name === 'formJsonSchemaFilename'; })[0];
    if (existing) {
      modeling.updateModdleProperties(element, existing, { value: file });
    } else {
      var created = moddle.create('spiffworkflow:property', { name: 'formJsonSchemaFilename', value: file });
      created.$parent = properties;
      modeling.updateModdleProperties(element, properties, { properties: properties.properties.concat([created]) });
    }
  }
  var marked = [];
  var SEVERITY = { error: '错误', warning: '警告' };

  function busy(on) {
    buttons.forEach(function (button) { button.disabled = on; });
  }

  function clearMarks() {
    var canvas = modeler.get('canvas');
    marked.forEach(function (mark) { canvas.removeMarker(mark.id, mark.cls); });
    marked = [];
    modeler.get('overlays').remove({ type: 'beian-finding' });
    findingsList.textContent = '';
    findingsBox.hidden = true;
  }

  function showFindings(answer) {
    clearMarks();
    var registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    var perElement = {};
    (answer.findings || []).forEach(function (finding) {
      var item = document.createElement('li');
      item.className = 'finding-' + finding.severity;
      item.dataset.elementId = finding.element_id || '';
      var where = finding.element_id ? '（' + finding.element_id + '）' : '';
      item.textContent = (SEVERITY[finding.severity] || finding.severity) + ' ' + finding.code + where + '：' +
        finding.message;
      findingsList.appendChild(item);
      if (finding.element_id && registry.get(finding.element_id)) {
        (perElement[finding.element_id] = perElement[finding.element_id] || []).push(finding);
      }
    });
    (answer.problems || []).forEach(function (problem) {
      var item = document.createElement('li');
      item.className = 'finding-error';
      item.textContent = problem;
      findingsList.appendChild(item);
    });
    Object.keys(perElement).forEach(function (id) {
      var list = perElement[id];
      var worst = list.some(function (f) { return f.severity === 'error'; }) ? 'error' : 'warning';
      var cls = 'beian-' + worst;
      canvas.addMarker(id, cls);
      marked.push({ id: id, cls: cls });
      var note = document.createElement('div');
      note.className = 'beian-finding-note beian-finding-' + worst;
      note.dataset.elementId = id;
      note.textContent = list.map(function (f) { return f.message; }).join('\n');
      overlays.add(id, 'beian-finding', { position: { top: -8, left: 0 }, html: note });
    });
    findingsBox.hidden = findingsList.children.length === 0;
  }

  function send(url) {
    return modeler.saveXML({ format: true }).then(function (saved) {
      return fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': root.dataset.csrfToken },
        body: JSON.stringify({ xml: saved.xml, forms: editedForms })
      });
    }).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      if (type.indexOf('application/json') === -1) {
        return { status: response.status, answer: { error: '服务器没有给出检查结果（HTTP ' + response.status + '），请刷新页面后重试' } };
      }
      return response.json().then(function (answer) { return { status: response.status, answer: answer }; });
    });
  }

  function summary(answer) {
    if (answer.errors) {
      return '检查发现 ' + answer.errors + ' 处错误' + (answer.warnings ? '、' + answer.warnings + ' 处警告' : '') +
        '：已在图中标出，修正后才能部署';
    }
    if (answer.warnings) {
      return '没有错误，' + answer.warnings + ' 处警告（已在图中标出）：可以部署';
    }
    return '检查通过：没有错误和警告';
  }

  function check() {
    busy(true);
    say('正在检查…');
    send(root.dataset.checkUrl).then(function (result) {
      if (result.answer.error) {
        say(result.answer.error, 'error');
        return;
      }
      showFindings(result.answer);
      say(summary(result.answer), result.answer.errors ? 'error' : (result.answer.warnings ? 'warning' : 'ok'));
    }).catch(function (error) {
      say('检查失败：' + error.message, 'error');
    }).then(function () { busy(false); });
  }

  function deploy() {
    busy(true);
    say('正在检查并部署…');
    send(root.dataset.deployUrl).then(function (result) {
      var answer = result.answer;
      if (answer.findings || answer.problems) {
        showFindings(answer);
      }
      if (result.status !== 200) {
        say(answer.error || ('部署失败（HTTP ' + result.status + '）'), 'error');
        return;
      }
      say('', 'ok');
      var text = answer.deployed ? '已部署为第 ' + answer.version + ' 版。' :
        '内容与已部署的第 ' + answer.version + ' 版相同，未产生新版本。';
      status.appendChild(document.createTextNode(text + ' '));
      var link = document.createElement('a');
      link.href = answer.url;
      link.id = 'modeller-deployed-link';
      link.textContent = '查看第 ' + answer.version + ' 版';
      status.appendChild(link);
    }).catch(function (error) {
      say('部署失败：' + error.message, 'error');
    }).then(function () { busy(false); });
  }

  function download() {
    modeler.saveXML({ format: true }).then(function (saved) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([saved.xml], { type: 'application/xml' }));
      link.download = root.dataset.fileName || 'diagram.bpmn';
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  buttons[0].addEventListener('click', check);
  buttons[1].addEventListener('click', deploy);
  buttons[2].addEventListener('click', download);
  busy(true);

  fetch(root.dataset.xmlUrl, { credentials: 'same-origin' }).then(function (response) {
    if (!response.ok) {
      throw new Error('HTTP ' + response.status);
    }
    return response.text();
  }).then(function (xml) {
    return modeler.importXML(xml);
  }).then(function (result) {
    modeler.get('canvas').zoom('fit-viewport');
    var warnings = (result && result.warnings) || [];
    say(warnings.length ? '已载入，但有 ' + warnings.length + ' 条导入警告（请检查后再部署）' : '已载入，可以修改',
        warnings.length ? 'warning' : 'ok');
    root.dataset.ready = 'true';
    busy(false);
    // Any edit makes an earlier check's marks stale.
    modeler.on('commandStack.changed', function () {
      if (marked.length || !findingsBox.hidden) {
        say('图已修改：请重新检查');
      }
    });
  }).catch(function (error) {
    say('无法载入流程图：' + error.message, 'error');
  });
}());
