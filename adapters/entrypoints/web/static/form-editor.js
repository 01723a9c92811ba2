// The process owners' form editor (in the modeller page): a task form is a JSON Schema (bpmn/forms/*.schema.json),
// the same definition the server renders the form from and validates every submission against. The editor edits
// what a process owner decides — the form's title and note, its fields (name, title, kind, required, choices, note)
// and their order — and keeps everything else the schema holds as it was (conditional requirements, x-checks,
// nested fields it does not edit). What it builds is sent with the diagram and checked again by the server.
//
// window.BeianFormEditor.open({ file, schema, isNew, onSave(file, schema) }). Texts only ever go in as textContent
// or input values.
(function () {
  'use strict';

  var KINDS = [
    ['text', '单行文字'], ['textarea', '多行文字'], ['choice', '单选'], ['integer', '整数'], ['number', '数字'],
    ['date', '日期'], ['boolean', '是/否']
  ];
  var FIELD_NAME = /^[a-z][a-z0-9_]{0,62}$/;
  var FILE_NAME = /^[a-z][a-z0-9_]{0,62}\.schema\.json$/;
  var SHORT_TEXT = 200;
  var LONG_TEXT = 4000;

  function kindOf(property) {
    if (!property || typeof property !== 'object') {
      return null;
    }
    if (Array.isArray(property.oneOf) && property.oneOf.every(function (c) { return c && 'const' in c; })) {
      return 'choice';
    }
    if (property.type === 'integer' || property.type === 'number' || property.type === 'boolean') {
      return property.type;
    }
    if (property.type === 'string' && property.format === 'date') {
      return 'date';
    }
    if (property.type === 'string') {
      return (property.maxLength || 0) > SHORT_TEXT ? 'textarea' : 'text';
    }
    return null; // an object, a list, a reference: kept as it is
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function choicesText(property) {
    return (property.oneOf || []).map(function (c) { return c.const + '=' + (c.title || c.const); }).join('\n');
  }

  function parseChoices(text) {
    var problems = [];
    var choices = text.split('\n').map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var at = line.indexOf('=');
      var value = (at >= 0 ? line.slice(0, at) : line).trim();
      var title = (at >= 0 ? line.slice(at + 1) : line).trim();
      if (!value) {
        problems.push('选项“' + line + '”缺少值');
      }
      return { const: value, title: title || value };
    });
    return { choices: choices, problems: problems };
  }

  // The property as the row says it, on top of what it was (keywords the editor does not own stay).
  function propertyOf(row, original) {
    var property = JSON.parse(JSON.stringify(original || {}));
    ['type', 'format', 'oneOf', 'maxLength', 'minLength', 'pattern', 'enum'].forEach(function (key) {
      if (row.kind !== (original ? kindOf(original) : null)) {
        delete property[key];
      }
    });
    property.title = row.title;
    if (row.description) {
      property.description = row.description;
    } else {
      delete property.description;
    }
    if (row.kind === 'text' || row.kind === 'textarea') {
      property.type = 'string';
      property.maxLength = property.maxLength && kindOf(original) === row.kind ? property.maxLength
        : (row.kind === 'text' ? SHORT_TEXT : LONG_TEXT);
    } else if (row.kind === 'date') {
      property.type = 'string';
      property.format = 'date';
    } else if (row.kind === 'choice') {
      property.type = 'string';
      property.oneOf = row.choices;
    } else {
      property.type = row.kind;
    }
    return property;
  }

  function open(options) {
    var schema = JSON.parse(JSON.stringify(options.schema || {}));
    var originals = schema.properties || {};
    var required = Array.isArray(schema.required) ? schema.required : [];
    var dialog = el('dialog', { id: 'form-editor', class: 'form-editor', 'aria-labelledby': 'form-editor-title' });
    var heading = el('h2', { id: 'form-editor-title' }, options.isNew ? '新建表单' : '编辑表单 ' + options.file);
    dialog.appendChild(heading);
    var help = el('p', { class: 'help' }, '表单随流程图一起部署为新版本；办理人提交时，服务器按同一定义逐项校验。' +
      '条件必填等高级设置保持不变。');
    dialog.appendChild(help);

    function labelled(labelText, input) {
      var wrap = el('label', { class: 'form-editor-line' });
      wrap.appendChild(el('span', {}, labelText));
      wrap.appendChild(input);
      dialog.appendChild(wrap);
      return input;
    }
    var fileInput = labelled('文件名', el('input', { name: 'form-file', placeholder: 'legal_review.schema.json' }));
    fileInput.value = options.file || '';
    fileInput.readOnly = !options.isNew;
    var titleInput = labelled('表单标题', el('input', { name: 'form-title' }));
    titleInput.value = schema.title || '';
    var noteInput = labelled('填写说明', el('textarea', { name: 'form-description', rows: '2' }));
    noteInput.value = schema.description || '';

    var table = el('table', { class: 'form-editor-fields' });
    var head = el('tr');
    ['字段名', '标题', '类型', '必填', '选项（每行：值=显示文字）', '说明', ''].forEach(function (t) {
      head.appendChild(el('th', {}, t));
    });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    dialog.appendChild(table);

    function addRow(key, property) {
      var kind = property ? kindOf(property) : 'text';
      var tr = el('tr', { 'data-original': key || '' });
      var name = el('input', { name: 'field-name', size: '14' });
      name.value = key || '';
      var title = el('input', { name: 'field-title', size: '12' });
      title.value = (property && property.title) || '';
      var select = el('select', { name: 'field-kind' });
      if (kind === null) {
        select.appendChild(el('option', { value: 'kept' }, '复杂字段（保持不变）'));
        select.disabled = true;
      }
      KINDS.forEach(function (k) {
        var option = el('option', { value: k[0] }, k[1]);
        if (k[0] === kind) {
          option.selected = true;
        }
        select.appendChild(option);
      });
      var must = el('input', { name: 'field-required', type: 'checkbox' });
      must.checked = required.indexOf(key) >= 0;
      var choices = el('textarea', { name: 'field-choices', rows: '2', cols: '16' });
      choices.value = property ? choicesText(property) : '';
      var note = el('input', { name: 'field-description', size: '14' });
      note.value = (property && property.description) || '';
      var actions = el('td');
      [['↑', -1], ['↓', 1]].forEach(function (move) {
        var button = el('button', { type: 'button', title: move[1] < 0 ? '上移' : '下移' }, move[0]);
        button.addEventListener('click', function () {
          var sibling = move[1] < 0 ? tr.previousElementSibling : tr.nextElementSibling;
          if (sibling) {
            body.insertBefore(move[1] < 0 ? tr : sibling, move[1] < 0 ? sibling : tr);
          }
        });
        actions.appendChild(button);
      });
      var remove = el('button', { type: 'button', name: 'field-remove' }, '删除');
      remove.addEventListener('click', function () { tr.remove(); });
      actions.appendChild(remove);
      [name, title, select, must, choices, note].forEach(function (input) {
        var td = el('td');
        td.appendChild(input);
        tr.appendChild(td);
      });
      tr.appendChild(actions);
      body.appendChild(tr);
      return tr;
    }
    Object.keys(originals).forEach(function (key) { addRow(key, originals[key]); });

    var add = el('button', { type: 'button', id: 'form-editor-add' }, '添加字段');
    add.addEventListener('click', function () { addRow('', null).querySelector('input').focus(); });
    dialog.appendChild(add);
    var problemsBox = el('ul', { class: 'error', role: 'alert', id: 'form-editor-problems' });
    dialog.appendChild(problemsBox);
    var buttons = el('div', { class: 'form-editor-buttons' });
    var save = el('button', { type: 'button', class: 'primary', id: 'form-editor-save' }, '保存表单');
    var cancel = el('button', { type: 'button', id: 'form-editor-cancel' }, '取消');
    buttons.appendChild(save);
    buttons.appendChild(cancel);
    dialog.appendChild(buttons);

    function built() {
      var problems = [];
      var file = fileInput.value.trim();
      if (!FILE_NAME.test(file) || /\.message\.schema\.json$/.test(file)) {
        problems.push('文件名应为小写英文字母、数字和下划线，以 .schema.json 结尾，如 legal_review.schema.json');
      }
      if (!titleInput.value.trim()) {
        problems.push('请填写表单标题');
      }
      var properties = {};
      var must = [];
      Array.prototype.forEach.call(body.children, function (tr, index) {
        var get = function (name) { return tr.querySelector('[name=' + name + ']'); };
        var key = get('field-name').value.trim();
        var where = '第 ' + (index + 1) + ' 个字段';
        var original = tr.getAttribute('data-original');
        if (!FIELD_NAME.test(key)) {
          problems.push(where + '的字段名应以小写英文字母开头，只含小写字母、数字和下划线');
          return;
        }
        if (properties[key]) {
          problems.push(where + '的字段名 ' + key + ' 重复');
          return;
        }
        var kind = get('field-kind').value;
        if (kind === 'kept') {
          properties[key] = originals[original];
        } else {
          var row = { kind: kind, title: get('field-title').value.trim(), description: get('field-description').value.trim() };
          if (!row.title) {
            problems.push(where + '（' + key + '）请填写标题');
          }
          if (kind === 'choice') {
            var parsed = parseChoices(get('field-choices').value);
            problems = problems.concat(parsed.problems.map(function (p) { return where + '：' + p; }));
            if (!parsed.choices.length) {
              problems.push(where + '（' + key + '）是单选，请填写选项');
            }
            row.choices = parsed.choices;
          }
          properties[key] = propertyOf(row, original ? originals[original] : null);
        }
        if (get('field-required').checked) {
          must.push(key);
        }
      });
      if (!Object.keys(properties).length) {
        problems.push('表单至少要有一个字段');
      }
      var result = JSON.parse(JSON.stringify(schema));
      if (options.isNew) {
        result.$schema = 'https://json-schema.org/draft/2020-12/schema';
      }
      result.title = titleInput.value.trim();
      if (noteInput.value.trim()) {
        result.description = noteInput.value.trim();
      } else {
        delete result.description;
      }
      result.type = 'object';
      if (!('additionalProperties' in result)) {
        result.additionalProperties = false;
      }
      result.properties = properties;
      result.required = must;
      return { file: file, schema: result, problems: problems };
    }

    save.addEventListener('click', function () {
      var done = built();
      problemsBox.textContent = '';
      if (done.problems.length) {
        done.problems.forEach(function (p) { problemsBox.appendChild(el('li', {}, p)); });
        return;
      }
      dialog.close();
      dialog.remove();
      options.onSave(done.file, done.schema);
    });
    cancel.addEventListener('click', function () { dialog.close(); dialog.remove(); });
    document.body.appendChild(dialog);
    dialog.showModal();
    return dialog;
  }

  window.BeianFormEditor = { open: open };
}());
