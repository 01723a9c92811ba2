// A process diagram on a page (the case page, and the process owners' version, upload check and diff pages):
// bpmn-js's NavigatedViewer (loaded before this file as the global BpmnJS) draws the BPMN that the page embeds as
// JSON in <script type="application/json" id="diagram-data">, then marks elements with CSS classes
// (beian-current, beian-done, beian-taken, beian-error, beian-warning, beian-added, beian-changed, beian-removed),
// puts a badge on the current steps and on findings and changes, and brings the elements of `focus` into view at a
// readable size. Clicking an element tells its name and mark in the panel under the canvas and picks its row in the page's
// table, if it has one. The buttons zoom in, out, and fit the whole diagram.
//
// Names come from the diagram and notes from the server: they are only ever set as textContent.
//
// A page may show several diagrams (the version diff: the old version beside the new): each
// <figure class="diagram-viewer" data-diagram="ID"> is drawn from the JSON in the element with that id.
function beianDrawDiagram(root, data) {
  'use strict';

  var status = root.querySelector('.diagram-status');
  var info = root.querySelector('.diagram-info');
  var diagram = JSON.parse(data.textContent);
  var marks = diagram.marks || {};
  var notes = diagram.notes || {};
  var labels = diagram.labels || {};
  var READABLE = 0.8; // below this scale a task's name is too small to read
  var BADGED = { current: true, error: true, warning: true, added: true, changed: true, removed: true };

  function say(text, kind) {
    status.textContent = text;
    status.className = 'diagram-status' + (kind ? ' ' + kind : '');
  }

  if (typeof window.BpmnJS !== 'function') {
    say('流程图查看器（bpmn-js）未能载入：请运行 npm ci --prefix tools/bpmnio 后刷新本页', 'error');
    return;
  }

  var viewer = new window.BpmnJS({ container: root.querySelector('.diagram-canvas') });
  // For the browser tests, which read bpmn-js's own state: every viewer by its figure's id, the page's main one alone.
  window.beianDiagrams[root.id] = viewer;
  if (root.id === 'diagram') {
    window.beianDiagram = viewer;
  }
  var canvas = viewer.get('canvas');

  function union(elements) {
    var box = null;
    elements.forEach(function (element) {
      var x = element.x, y = element.y, right, bottom;
      if (element.waypoints) {
        var xs = element.waypoints.map(function (p) { return p.x; });
        var ys = element.waypoints.map(function (p) { return p.y; });
        x = Math.min.apply(null, xs); y = Math.min.apply(null, ys);
        right = Math.max.apply(null, xs); bottom = Math.max.apply(null, ys);
      } else {
        right = element.x + element.width; bottom = element.y + element.height;
      }
      if (!box) {
        box = { x: x, y: y, right: right, bottom: bottom };
      } else {
        box = { x: Math.min(box.x, x), y: Math.min(box.y, y), right: Math.max(box.right, right),
          bottom: Math.max(box.bottom, bottom) };
      }
    });
    return box;
  }

  // The whole diagram if it is readable that way; else the focus (or the start events) at a readable size.
  function initialView(registry) {
    canvas.zoom('fit-viewport', 'auto');
    var fit = canvas.zoom();
    if (fit >= READABLE) {
      return;
    }
    var targets = (diagram.focus || []).map(function (id) { return registry.get(id); }).filter(Boolean);
    if (!targets.length) {
      targets = registry.filter(function (element) { return element.type === 'bpmn:StartEvent'; }).slice(0, 1);
    }
    var box = union(targets);
    if (!box) {
      return;
    }
    var outer = canvas.viewbox().outer;
    var pad = 80;
    var scale = Math.min(1, Math.max(fit, Math.min(READABLE + 0.1,
      outer.width / (box.right - box.x + 2 * pad), outer.height / (box.bottom - box.y + 2 * pad))));
    var width = outer.width / scale, height = outer.height / scale;
    var inner = canvas.viewbox().inner;
    // Centred on the focus, but not past the diagram's edges where the diagram is larger than the window.
    function clamp(centre, size, start, length) {
      var low = start - pad / 2, high = start + length + pad / 2 - size;
      return high < low ? start + length / 2 - size / 2 : Math.min(Math.max(centre - size / 2, low), high);
    }
    canvas.viewbox({ x: clamp((box.x + box.right) / 2, width, inner.x, inner.width),
      y: clamp((box.y + box.bottom) / 2, height, inner.y, inner.height), width: width, height: height });
  }

  function markAll(registry) {
    var overlays = viewer.get('overlays');
    Object.keys(marks).forEach(function (id) {
      var element = registry.get(id);
      if (!element) {
        return;
      }
      var kind = marks[id];
      canvas.addMarker(id, 'beian-' + kind);
      if (BADGED[kind] && !element.waypoints && element.type !== 'bpmn:BoundaryEvent') {
        var badge = document.createElement('div');
        badge.className = 'beian-badge beian-badge-' + kind;
        badge.dataset.elementId = id;
        badge.textContent = labels[kind] || kind;
        overlays.add(id, 'beian-mark', { position: { top: -20, left: 0 }, html: badge });
      }
    });
  }

  function rowOf(id) {
    var escaped = window.CSS && CSS.escape ? CSS.escape(id) : id.replace(/["\\]/g, '\\$&');
    return document.querySelector('tr[data-element-id="' + escaped + '"], tr[data-bpmn-id="' + escaped + '"]');
  }

  function describe(element) {
    var business = element.businessObject || {};
    var name = (business.name || '').trim();
    var kind = marks[element.id];
    var state = kind ? (labels[kind] || kind) : diagram.unmarked;
    var text = (name || element.id) + (name ? '（' + element.id + '）' : '') + (state ? '：' + state : '');
    if (notes[element.id]) {
      text += '\n' + notes[element.id];
    }
    return text;
  }

  function pick(element) {
    document.querySelectorAll('tr.diagram-picked').forEach(function (row) { row.classList.remove('diagram-picked'); });
    if (!element || element === canvas.getRootElement() || element.type === 'label') {
      element = element && element.labelTarget;
      if (!element) {
        return;
      }
    }
    info.textContent = describe(element);
    info.dataset.elementId = element.id;
    var row = rowOf(element.id);
    if (row) {
      row.classList.add('diagram-picked');
      var link = document.createElement('a');
      link.href = '#';
      link.className = 'diagram-row-link';
      link.textContent = '查看下表中的对应行';
      link.addEventListener('click', function (event) {
        event.preventDefault();
        row.scrollIntoView({ block: 'center' });
      });
      info.appendChild(document.createTextNode(' '));
      info.appendChild(link);
    }
  }

  function zoomBy(factor) {
    canvas.zoom(Math.min(4, Math.max(0.1, canvas.zoom() * factor)));
  }

  root.querySelector('[data-zoom=in]').addEventListener('click', function () { zoomBy(1.25); });
  root.querySelector('[data-zoom=out]').addEventListener('click', function () { zoomBy(0.8); });
  root.querySelector('[data-zoom=fit]').addEventListener('click', function () { canvas.zoom('fit-viewport', 'auto'); });

  viewer.importXML(diagram.xml).then(function (result) {
    var registry = viewer.get('elementRegistry');
    markAll(registry);
    initialView(registry);
    viewer.on('element.click', function (event) { pick(event.element); });
    var warnings = (result && result.warnings) || [];
    say(warnings.length ? '已绘制，但有 ' + warnings.length + ' 处图形信息未能识别' : '', warnings.length ? 'warning' : '');
    root.dataset.ready = 'true';
  }).catch(function (error) {
    say('无法绘制流程图：' + error.message, 'error');
    root.dataset.ready = 'failed';
  });
}

(function () {
  'use strict';

  window.beianDiagrams = {};
  document.querySelectorAll('figure.diagram-viewer[data-diagram]').forEach(function (root) {
    var data = document.getElementById(root.dataset.diagram);
    if (data) {
      beianDrawDiagram(root, data);
    }
  });
}());
