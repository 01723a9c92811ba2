// bpmn-js and its properties panel in Chinese: the words a process owner meets in the palette, the context pad, the
// replace menu and the panel's own groups. A string not listed stays as bpmn-js writes it (in English).
const WORDS = {
  'General': '基本信息', 'Name': '名称', 'ID': '编号（id）', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process': '流程', 'Collaboration': '协作', 'Participant': '泳池', 'Lane': '泳道',
  'Task': '任务', 'User Task': '用户任务', 'Service Task': '服务任务', 'Script Task': '脚本任务',
  'Manual Task': '人工任务', 'Business Rule Task': '业务规则任务', 'Send Task': '发送任务',
  'Receive Task': '接收任务', 'Call Activity': '调用活动', 'Sub Process (collapsed)': '子流程（折叠）',
  'Sub Process (expanded)': '子流程（展开）', 'Start Event': '开始事件', 'End Event': '结束事件',
  'Intermediate Throw Event': '中间抛出事件', 'Message Intermediate Catch Event': '消息中间捕获事件',
  'Timer Intermediate Catch Event': '定时中间捕获事件', 'Exclusive Gateway': '排他网关',
  'Parallel Gateway': '并行网关', 'Inclusive Gateway': '包容网关', 'Event based Gateway': '事件网关',
  'Sequence Flow': '顺序流', 'Default Flow': '默认路径', 'Conditional Flow': '条件路径',
  'Append task': '追加任务', 'Append end event': '追加结束事件', 'Append gateway': '追加网关',
  'Append intermediate/boundary event': '追加中间/边界事件', 'Change type': '更改类型', 'Change element': '更改类型',
  'Delete': '删除', 'Connect using sequence/message flow or association': '连线', 'Connect to other element': '连线',
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '框选工具', 'Activate create/remove space tool': '空间工具',
  'Activate global connect tool': '全局连线工具', 'Create start event': '新建开始事件', 'Create end event': '新建结束事件',
  'Create task': '新建任务', 'Create gateway': '新建网关', 'Create intermediate/boundary event': '新建中间/边界事件',
  'Create pool/participant': '新建泳池', 'Create expanded sub-process': '新建子流程', 'Create data object reference':
  '新建数据对象', 'Create data store reference': '新建数据存储', 'Create group': '新建分组',
  'Add lane above': '在上方添加泳道', 'Add lane below': '在下方添加泳道', 'Divide into two lanes': '分成两条泳道',
  'Divide into three lanes': '分成三条泳道', 'Search in diagram': '在图中查找', 'Timer': '定时', 'Message': '消息',
};

function translate(template, replacements) {
  const text = WORDS[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (replacements && replacements[key] !== undefined
    ? replacements[key] : `{${key}}`));
}

export default { translate: ['value', translate] };
