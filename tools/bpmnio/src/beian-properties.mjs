// The properties panel's groups for what beian's engine reads, in the process owner's words (Chinese): who does a
// user task (its lane's role), its form, its deadline in working days and the article it rests on; a service task's
// operator and parameters; a timer's kind (working or calendar days) and length; the message a catch event waits
// for; a gateway branch's condition. Everything is written the way the engine
// reads it (spiffworkflow:property, bpmn:timeDate, bpmn:conditionExpression) through bpmn-js's own commands, so
// undo works and the server's check sees exactly what was clicked. The choices come from the server's catalogue
// (adapters/entrypoints/web/processes/catalogue.py), embedded in the page.
import { h } from '@bpmn-io/properties-panel/preact';
import { SelectEntry, TextFieldEntry, isSelectEntryEdited, isTextFieldEntryEdited } from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

const PRIORITY = 400;
const SPIFF_PROPERTIES = 'spiffworkflow:properties';
const FORM = 'formJsonSchemaFilename';
const DEADLINE_DAYS = 'deadlineWorkingDays';
const ARTICLE_KEY = 'articleKey';
const CALENDAR_DAYS = 'calendarDays';

// --- reading and writing the engine's extension properties ------------------------------------------------------

function propertiesOf(bo) {
  const extensions = bo.get('extensionElements');
  return extensions ? extensions.get('values').find((v) => v.$type === SPIFF_PROPERTIES) : undefined;
}

export function getProperty(element, name) {
  const properties = propertiesOf(getBusinessObject(element));
  const found = properties ? properties.get('properties').find((p) => p.name === name) : undefined;
  return found ? found.value : undefined;
}

// Set (or, with '' / undefined, remove) one spiffworkflow:property of the element, creating the containers it needs.
export function setProperty(element, name, value, modeling, moddle) {
  const bo = getBusinessObject(element);
  const blank = value === undefined || value === null || String(value).trim() === '';
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    if (blank) {
      return;
    }
    extensions = moddle.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    modeling.updateProperties(element, { extensionElements: extensions });
  }
  let properties = propertiesOf(bo);
  if (!properties) {
    if (blank) {
      return;
    }
    properties = moddle.create(SPIFF_PROPERTIES, { properties: [] });
    properties.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, { values: [...extensions.get('values'), properties] });
  }
  const list = properties.get('properties');
  const existing = list.find((p) => p.name === name);
  if (blank) {
    if (existing) {
      modeling.updateModdleProperties(element, properties, { properties: list.filter((p) => p !== existing) });
    }
    return;
  }
  if (existing) {
    modeling.updateModdleProperties(element, existing, { value: String(value) });
    return;
  }
  const created = moddle.create('spiffworkflow:property', { name, value: String(value) });
  created.$parent = properties;
  modeling.updateModdleProperties(element, properties, { properties: [...list, created] });
}

// --- user tasks ------------------------------------------------------------------------------------------------

function laneOf(element) {
  const lanes = getBusinessObject(element).get('lanes') || [];
  return lanes.length ? lanes[lanes.length - 1] : undefined;
}

// Put the task into the lane named `label` (adding that lane to the pool when the diagram has none): the lane is
// what the engine reads as the task's role.
function moveIntoLane(element, label, injector) {
  const registry = injector.get('elementRegistry');
  const modeling = injector.get('modeling');
  let lane = registry.filter((e) => is(e, 'bpmn:Lane') && (e.businessObject.name || '').trim() === label)[0];
  if (!lane) {
    let pool = element.parent;
    while (pool && !is(pool, 'bpmn:Participant')) {
      pool = pool.parent;
    }
    if (!pool) {
      return '流程图没有泳池（参与者），无法按泳道指定角色';
    }
    lane = modeling.addLane(pool, 'bottom');
    modeling.updateLabel(lane, label);
  }
  const dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
  const dx = element.x < lane.x + 30 ? lane.x + 30 - element.x : 0;
  if (dx || Math.abs(dy) > 1) {
    modeling.moveElements([element], { x: dx, y: dy });
  }
  return null;
}

function RoleEntry(props) {
  const { element, id, catalogue } = props;
  const injector = useService('injector');
  return h(SelectEntry, {
    element, id, label: '办理角色（泳道）',
    description: '任务放进该角色的泳道；图中没有该泳道时在泳池底部添加。',
    getValue: () => { const lane = laneOf(element); return lane ? (lane.name || '').trim() : ''; },
    setValue: (label) => { if (label) { moveIntoLane(element, label, injector); } },
    getOptions: () => [{ value: '', label: '（未指定）' },
      ...catalogue.roles.map((role) => ({ value: role.label, label: role.label }))],
  });
}

function PropertySelect(props) {
  const { element, id, label, name, options, description } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  return h(SelectEntry, {
    element, id, label, description,
    getValue: () => getProperty(element, name) || '',
    setValue: (value) => setProperty(element, name, value, modeling, moddle),
    getOptions: () => options,
  });
}

function DeadlineEntry(props) {
  const { element, id, catalogue } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  const debounce = useService('debounceInput');
  const most = catalogue.max_deadline_days;
  return h(TextFieldEntry, {
    element, id, debounce, label: '办理期限（工作日）',
    description: `自该环节开始之日起按国家法定工作日计算，1 至 ${most} 个工作日；留空为无法定期限。`,
    getValue: () => getProperty(element, DEADLINE_DAYS) || '',
    setValue: (value) => setProperty(element, DEADLINE_DAYS, (value || '').trim(), modeling, moddle),
    validate: (value) => {
      const text = (value || '').trim();
      if (!text) {
        return null;
      }
      return /^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= most ? null
        : `应为 1 至 ${most} 之间的整数`;
    },
  });
}

// 编辑表单… / 新建表单…: the page's form editor (static/form-editor.js) opens on the task's form or a new one; what it
// saves travels with the diagram. The panel only asks: the page listens for `beian:edit-form` on the document.
function FormButtons(props) {
  const { element } = props;
  const ask = (isNew) => document.dispatchEvent(new CustomEvent('beian:edit-form', {
    detail: { element, file: isNew ? '' : getProperty(element, FORM) || '', isNew } }));
  return h('div', { class: 'bio-properties-panel-entry beian-form-buttons' },
    getProperty(element, FORM)
      ? h('button', { type: 'button', class: 'beian-edit-form', onClick: () => ask(false) }, '编辑表单…') : null,
    h('button', { type: 'button', class: 'beian-new-form', onClick: () => ask(true) }, '新建表单…'));
}

function userTaskGroup(element, catalogue) {
  const formOptions = [{ value: '', label: '（不指定表单）' },
    ...catalogue.forms.map((form) => ({ value: form.file, label: `${form.title}（${form.file}）` }))];
  const articleOptions = [{ value: '', label: '（不引用条文）' },
    ...catalogue.articles.map((article) => ({ value: article.key, label: article.label }))];
  return {
    id: 'beian-user-task', label: '办理设置',
    entries: [
      { id: 'beian-role', element, catalogue, component: RoleEntry, isEdited: isSelectEntryEdited },
      { id: 'beian-form', element, name: FORM, label: '表单', options: formOptions, component: PropertySelect,
        isEdited: isSelectEntryEdited, description: '办理人填写并提交的表单，服务器按同一定义校验。' },
      { id: 'beian-form-buttons', element, component: FormButtons },
      { id: 'beian-deadline', element, catalogue, component: DeadlineEntry, isEdited: isTextFieldEntryEdited },
      { id: 'beian-article', element, name: ARTICLE_KEY, label: '依据条文', options: articleOptions,
        component: PropertySelect, isEdited: isSelectEntryEdited,
        description: '按案件所在地区显示该地区的条文。' },
    ],
  };
}

// --- timers ----------------------------------------------------------------------------------------------------

function timerOf(element) {
  const definitions = getBusinessObject(element).get('eventDefinitions') || [];
  return definitions.find((d) => is(d, 'bpmn:TimerEventDefinition'));
}

const WORKING = /^within_working_days\(today\(\),\s*(\d+)\)\['due'\]$/;
const CALENDAR = /^["']P(\d+)D["']$/;

// How the timer is written now: {kind: working|calendar|expression, days, expression}.
export function readTimer(element) {
  const timer = timerOf(element);
  const expression = timer ? (timer.get('timeDate') || timer.get('timeDuration') || timer.get('timeCycle')) : null;
  const body = expression ? (expression.get('body') || '').trim() : '';
  let match = timer && timer.get('timeDate') ? body.match(WORKING) : null;
  if (match) {
    return { kind: 'working', days: match[1], expression: body };
  }
  match = timer && timer.get('timeDuration') ? body.match(CALENDAR) : null;
  if (match && getProperty(element, CALENDAR_DAYS) === 'true') {
    return { kind: 'calendar', days: match[1], expression: body };
  }
  return { kind: body ? 'expression' : 'working', days: '', expression: body };
}

function writeTimer(element, kind, days, expression, injector) {
  const modeling = injector.get('modeling');
  const moddle = injector.get('moddle');
  const timer = timerOf(element);
  const n = /^\d{1,3}$/.test(String(days)) ? String(Number(days)) : '10';
  let field = 'timeDate';
  let body = expression;
  if (kind === 'working') {
    body = `within_working_days(today(), ${n})['due']`;
  } else if (kind === 'calendar') {
    field = 'timeDuration';
    body = `"P${n}D"`;
  }
  const formal = moddle.create('bpmn:FormalExpression', { body });
  modeling.updateModdleProperties(element, timer, {
    timeDate: field === 'timeDate' ? formal : undefined,
    timeDuration: field === 'timeDuration' ? formal : undefined,
    timeCycle: undefined,
  });
  setProperty(element, CALENDAR_DAYS, kind === 'calendar' ? 'true' : '', modeling, moddle);
}

function TimerKindEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  return h(SelectEntry, {
    element, id, label: '计时方式',
    description: '法定期限按工作日计算（国家法定节假日安排）；自然日仅用于确实按日历日计算的期间。',
    getValue: () => readTimer(element).kind,
    setValue: (kind) => { const now = readTimer(element); writeTimer(element, kind, now.days, now.expression, injector); },
    getOptions: () => [
      { value: 'working', label: '工作日（自进入此处之日次日起算）' },
      { value: 'calendar', label: '自然日' },
      { value: 'expression', label: '表达式（高级）' },
    ],
  });
}

function TimerDaysEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, debounce, label: '天数',
    getValue: () => readTimer(element).days,
    setValue: (days) => {
      const now = readTimer(element);
      if (now.kind !== 'expression' && /^\d{1,3}$/.test((days || '').trim())) {
        writeTimer(element, now.kind, days.trim(), now.expression, injector);
      }
    },
    validate: (value) => (/^\d{1,3}$/.test((value || '').trim()) && Number(value) >= 1 ? null
      : '应为 1 至 999 之间的整数'),
  });
}

function TimerExpressionEntry(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, debounce, label: '定时表达式',
    description: "Python 表达式（docs/expressions.md），如 acceptance_deadline['due']",
    getValue: () => readTimer(element).expression,
    setValue: (value) => writeTimer(element, 'expression', '', (value || '').trim(), injector),
  });
}

function timerGroup(element) {
  const kind = readTimer(element).kind;
  const entries = [{ id: 'beian-timer-kind', element, component: TimerKindEntry, isEdited: isSelectEntryEdited }];
  entries.push(kind === 'expression'
    ? { id: 'beian-timer-expression', element, component: TimerExpressionEntry, isEdited: isTextFieldEntryEdited }
    : { id: 'beian-timer-days', element, component: TimerDaysEntry, isEdited: isTextFieldEntryEdited });
  return { id: 'beian-timer', label: '定时设置', entries };
}

// --- gateway branches ------------------------------------------------------------------------------------------

function ConditionEntry(props) {
  const { element, id } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, debounce, label: '分支条件',
    description: "Python 表达式，如 acceptance['decision'] == 'accept'；不写条件的连线须设为网关的默认路径。",
    getValue: () => {
      const condition = getBusinessObject(element).get('conditionExpression');
      return condition ? condition.get('body') || '' : '';
    },
    setValue: (value) => {
      const text = (value || '').trim();
      modeling.updateProperties(element, {
        conditionExpression: text ? moddle.create('bpmn:FormalExpression', { body: text }) : undefined,
      });
    },
  });
}

function isBranch(element) {
  const source = getBusinessObject(element).get('sourceRef');
  return is(element, 'bpmn:SequenceFlow') && source
    && (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway'));
}

// --- service tasks ---------------------------------------------------------------------------------------------

const OPERATOR = 'spiffworkflow:serviceTaskOperator';

function operatorOf(element) {
  const extensions = getBusinessObject(element).get('extensionElements');
  return extensions ? extensions.get('values').find((v) => v.$type === OPERATOR) : undefined;
}

function parametersOf(operator) {
  const list = operator ? operator.get('parameterList') : undefined;
  return list ? list.get('parameters') : [];
}

// Choose the service (operator): its parameters are kept where the new one takes them, the others dropped, so the
// check never sees parameters the service does not take.
function setOperator(element, name, catalogue, modeling, moddle) {
  const bo = getBusinessObject(element);
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    extensions = moddle.create('bpmn:ExtensionElements', { values: [] });
    extensions.$parent = bo;
    modeling.updateProperties(element, { extensionElements: extensions });
  }
  const existing = operatorOf(element);
  const wanted = (catalogue.operators.find((o) => o.name === name) || { parameters: [] }).parameters;
  const kept = parametersOf(existing).filter((p) => wanted.some((w) => w.name === p.id));
  const list = moddle.create('spiffworkflow:parameters', { parameters: kept });
  if (!existing) {
    const created = moddle.create(OPERATOR, { id: name, parameterList: list });
    list.$parent = created;
    created.$parent = extensions;
    modeling.updateModdleProperties(element, extensions, { values: [...extensions.get('values'), created] });
    return;
  }
  list.$parent = existing;
  modeling.updateModdleProperties(element, existing, { id: name, parameterList: list });
}

function setParameter(element, name, value, modeling, moddle) {
  const operator = operatorOf(element);
  if (!operator) {
    return;
  }
  let list = operator.get('parameterList');
  if (!list) {
    list = moddle.create('spiffworkflow:parameters', { parameters: [] });
    list.$parent = operator;
    modeling.updateModdleProperties(element, operator, { parameterList: list });
  }
  const parameters = list.get('parameters');
  const existing = parameters.find((p) => p.id === name);
  const text = (value || '').trim();
  if (!text) {
    if (existing) {
      modeling.updateModdleProperties(element, list, { parameters: parameters.filter((p) => p !== existing) });
    }
    return;
  }
  if (existing) {
    modeling.updateModdleProperties(element, existing, { value: text });
    return;
  }
  const created = moddle.create('spiffworkflow:parameter', { id: name, type: 'any', value: text });
  created.$parent = list;
  modeling.updateModdleProperties(element, list, { parameters: [...parameters, created] });
}

function OperatorEntry(props) {
  const { element, id, catalogue } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  return h(SelectEntry, {
    element, id, label: '系统服务',
    description: '服务任务由系统执行的服务；参数随服务而定。',
    getValue: () => { const operator = operatorOf(element); return operator ? operator.get('id') || '' : ''; },
    setValue: (name) => { if (name) { setOperator(element, name, catalogue, modeling, moddle); } },
    getOptions: () => [{ value: '', label: '（请选择）' },
      ...catalogue.operators.map((o) => ({ value: o.name, label: o.name }))],
  });
}

function ParameterEntry(props) {
  const { element, id, parameter } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element, id, debounce, label: `参数 ${parameter.name}${parameter.required ? '（必填）' : ''}`,
    description: "Python 表达式，如 '受理期限已届满'（文字加引号）或 region['articles']['acceptance']",
    getValue: () => { const found = parametersOf(operatorOf(element)).find((p) => p.id === parameter.name);
      return found ? found.value || '' : ''; },
    setValue: (value) => setParameter(element, parameter.name, value, modeling, moddle),
    validate: (value) => (parameter.required && !(value || '').trim() ? '必填' : null),
  });
}

function serviceTaskGroup(element, catalogue) {
  const operator = operatorOf(element);
  const name = operator ? operator.get('id') : '';
  const parameters = (catalogue.operators.find((o) => o.name === name) || { parameters: [] }).parameters;
  return {
    id: 'beian-service-task', label: '系统服务',
    entries: [
      { id: 'beian-operator', element, catalogue, component: OperatorEntry, isEdited: isSelectEntryEdited },
      ...parameters.map((parameter) => ({ id: `beian-parameter-${parameter.name}`, element, parameter,
        component: ParameterEntry, isEdited: isTextFieldEntryEdited })),
    ],
  };
}

// --- messages --------------------------------------------------------------------------------------------------

function messageDefinitionOf(element) {
  const definitions = getBusinessObject(element).get('eventDefinitions') || [];
  return definitions.find((d) => is(d, 'bpmn:MessageEventDefinition'));
}

function definitionsOf(bo) {
  let node = bo;
  while (node && !is(node, 'bpmn:Definitions')) {
    node = node.$parent;
  }
  return node;
}

function MessageEntry(props) {
  const { element, id, catalogue } = props;
  const modeling = useService('modeling');
  const moddle = useService('moddle');
  return h(SelectEntry, {
    element, id, label: '等待的消息',
    description: '系统收到该消息（机构的答复、外部系统的回复等）时流程继续。',
    getValue: () => { const ref = messageDefinitionOf(element).get('messageRef'); return ref ? ref.name || '' : ''; },
    setValue: (name) => {
      if (!name) {
        return;
      }
      const definitions = definitionsOf(getBusinessObject(element));
      const roots = definitions.get('rootElements');
      let message = roots.find((r) => is(r, 'bpmn:Message') && r.name === name);
      if (!message) {
        message = moddle.create('bpmn:Message', { id: `message_${name}`, name });
        message.$parent = definitions;
        modeling.updateModdleProperties(element, definitions, { rootElements: [...roots, message] });
      }
      modeling.updateModdleProperties(element, messageDefinitionOf(element), { messageRef: message });
    },
    getOptions: () => [{ value: '', label: '（请选择）' },
      ...catalogue.messages.map((m) => ({ value: m.name, label: `${m.label}（${m.name}）` }))],
  });
}

// --- the provider ----------------------------------------------------------------------------------------------

export function beianPropertiesModule(catalogue) {
  function BeianPropertiesProvider(propertiesPanel) {
    propertiesPanel.registerProvider(PRIORITY, this);
  }
  BeianPropertiesProvider.prototype.getGroups = function getGroups(element) {
    return (groups) => {
      const ours = [];
      if (is(element, 'bpmn:UserTask')) {
        ours.push(userTaskGroup(element, catalogue));
      }
      if (is(element, 'bpmn:ServiceTask')) {
        ours.push(serviceTaskGroup(element, catalogue));
      }
      if (timerOf(element)) {
        ours.push(timerGroup(element));
      }
      if (messageDefinitionOf(element) && is(element, 'bpmn:CatchEvent')) {
        ours.push({ id: 'beian-message', label: '消息',
          entries: [{ id: 'beian-message-name', element, catalogue, component: MessageEntry,
            isEdited: isSelectEntryEdited }] });
      }
      if (isBranch(element)) {
        ours.push({ id: 'beian-condition', label: '分支条件',
          entries: [{ id: 'beian-condition-expression', element, component: ConditionEntry,
            isEdited: isTextFieldEntryEdited }] });
      }
      // Ours right after the general group (name, id); the rest of bpmn-js's groups stay available.
      const general = groups.filter((g) => g.id === 'general');
      const rest = groups.filter((g) => g.id !== 'general');
      return [...general, ...ours, ...rest];
    };
  };
  BeianPropertiesProvider.$inject = ['propertiesPanel'];
  return { __init__: ['beianPropertiesProvider'], beianPropertiesProvider: ['type', BeianPropertiesProvider] };
}
