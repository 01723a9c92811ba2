// beian's own bpmnlint rules: the checks of the server's `beian bpmn check` (workflows/bpmn_check.py) that can be
// told from the diagram alone, under the same codes, so the modeller shows them while the process owner draws. The
// server remains the judge (it checks again on every check and deploy); tests/modeller/test_lint_parity.py runs both
// on the same files and requires the same findings for these codes.
//
// Each export is a bpmnlint rule factory: (config) => ({ check(node, reporter) }).

const ISO_TIMER = /^(?:R\d*\/)?(?:P(?=\d|T\d)(?:\d+(?:[.,]\d+)?[YMWD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?|\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)$/i;
const JUEL = /^\s*[$#]\{[\s\S]*\}\s*$/;
const FEEL = /^\s*=(?!=)/;
const MAX_DEADLINE_DAYS = 365;

function is(node, type) {
  return node && typeof node.$instanceOf === 'function' && node.$instanceOf(type);
}

function body(expression) {
  return expression && typeof expression.body === 'string' ? expression.body.trim() : '';
}

function properties(node) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  const found = {};
  for (const value of values) {
    if (value.$type === 'spiffworkflow:properties') {  // read with src/spiffworkflow.json
      for (const property of value.properties || []) {
        found[property.name] = property.value;
      }
    }
  }
  return found;
}

// task-kind: a task nobody performs (the case would stop there for good) or one the engine cannot run.
export function taskKind() {
  return {
    check(node, reporter) {
      if (node.$type === 'bpmn:Task') {
        reporter.report(node.id, '任务（无类型）没有人办理，也不会自动完成：请改为用户任务、服务任务或脚本任务');
      } else if (node.$type === 'bpmn:ManualTask') {
        reporter.report(node.id, '人工任务没有人办理，也不会自动完成：请改为用户任务');
      } else if (node.$type === 'bpmn:BusinessRuleTask') {
        reporter.report(node.id, '业务规则任务需要 DMN 决策表，系统不支持：请改用网关的条件或脚本任务');
      }
    },
  };
}

// lane-role: a user task outside a lane, or in a lane that is not a role (config.roles: the roles' lane names).
export function laneRole(config = {}) {
  const roles = new Set(config.roles || []);
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:Process')) {
        return;
      }
      const laneOf = {};
      const walk = (laneSet) => {
        for (const lane of (laneSet && laneSet.lanes) || []) {
          for (const ref of lane.flowNodeRef || []) {
            laneOf[ref.id] = (lane.name || '').trim();
          }
          walk(lane.childLaneSet);
        }
      };
      for (const laneSet of node.laneSets || []) {
        walk(laneSet);
      }
      for (const element of node.flowElements || []) {
        if (!is(element, 'bpmn:UserTask')) {
          continue;
        }
        const lane = laneOf[element.id];
        if (lane === undefined) {
          reporter.report(element.id, '用户任务不在任何泳道中，无法确定由哪个角色办理');
        } else if (!roles.has(lane)) {
          reporter.report(element.id, `用户任务所在泳道“${lane}”不是已知的角色`);
        }
      }
    },
  };
}

// timer-unquoted: a timer written as bare ISO 8601 text (P30D), as Camunda Modeler writes it.
export function timerUnquoted() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:TimerEventDefinition')) {
        return;
      }
      for (const field of ['timeDate', 'timeDuration', 'timeCycle']) {
        const text = body(node[field]);
        if (text && ISO_TIMER.test(text) && !/^\d+$/.test(text)) {
          reporter.report(node.$parent.id, `定时“${text}”没有加引号：beian 的定时是表达式，法定期限请用工作日`);
        }
      }
    },
  };
}

// foreign-expression: a condition, a timer or a service parameter in JUEL (${…}) or FEEL (=…).
export function foreignExpression() {
  return {
    check(node, reporter) {
      let text = '';
      let id = node.id;
      if (is(node, 'bpmn:SequenceFlow')) {
        text = body(node.conditionExpression);
      } else if (is(node, 'bpmn:TimerEventDefinition')) {
        text = body(node.timeDate) || body(node.timeDuration) || body(node.timeCycle);
        id = node.$parent.id;
      } else if (node.$type === 'spiffworkflow:parameter') {  // a service's parameter, on its task
        text = (node.value || '').trim();
        let owner = node.$parent;
        while (owner && !is(owner, 'bpmn:FlowElement')) {
          owner = owner.$parent;
        }
        id = owner ? owner.id : undefined;
      }
      if (text && (JUEL.test(text) || FEEL.test(text))) {
        reporter.report(id, `表达式“${text}”是其他引擎的写法（JUEL/FEEL），beian 的表达式是 Python 的一个子集`);
      }
    },
  };
}

// deadline-days: a user task's deadlineWorkingDays that is not a whole number of days in 1..365.
export function deadlineDays() {
  return {
    check(node, reporter) {
      if (!is(node, 'bpmn:UserTask')) {
        return;
      }
      const written = properties(node).deadlineWorkingDays;
      if (written === undefined) {
        return;
      }
      const text = String(written).trim();
      if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > MAX_DEADLINE_DAYS) {
        reporter.report(node.id, `办理期限“${text}”应为 1 至 ${MAX_DEADLINE_DAYS} 之间的整数（工作日数）`);
      }
    },
  };
}

// The rules by the server's codes, as the linter's resolver finds them (bpmnlint-plugin-beian/<code>).
export const RULES = {
  'task-kind': taskKind,
  'lane-role': laneRole,
  'timer-unquoted': timerUnquoted,
  'foreign-expression': foreignExpression,
  'deadline-days': deadlineDays,
};

// The linter configuration: bpmnlint's recommended rules (as bundled) and beian's, every one an error.
export function lintConfig(recommendedRules, recommendedLevels, roles) {
  const cache = {};
  const rules = {};
  for (const [name, level] of Object.entries(recommendedLevels)) {
    cache[`bpmnlint/${name}`] = recommendedRules[name];
    rules[name] = level;
  }
  for (const [code, factory] of Object.entries(RULES)) {
    cache[`bpmnlint-plugin-beian/${code}`] = factory;
    rules[`beian/${code}`] = code === 'lane-role' ? ['error', { roles }] : 'error';
  }
  return {
    config: { rules },
    resolver: {
      resolveRule(pkg, name) {
        const rule = cache[`${pkg}/${name}`];
        if (!rule) {
          throw new Error(`cannot resolve rule <${pkg}/${name}>`);
        }
        return rule;
      },
      resolveConfig(pkg, name) {
        throw new Error(`cannot resolve config <${name}> in <${pkg}>`);
      },
    },
  };
}
