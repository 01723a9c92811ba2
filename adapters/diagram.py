"""A case's process diagram as inline SVG, drawn from the BPMN file's own diagram information (BPMN DI).

Every position comes from the file: `bpmndi:BPMNShape`/`dc:Bounds` for pools, lanes and flow nodes,
`bpmndi:BPMNEdge`/`di:waypoint` for flows, `bpmndi:BPMNLabel` for external labels. Nothing is laid out here, so the
picture is the one the modeller drew. Where the case stands is painted on top: current elements highlighted, the
completed path shaded.

The output is meant to be pasted into an HTML page as it is: it is built as an lxml tree (so every name is escaped
on serialisation), contains no script, no link, no external resource and no element ids (two diagrams on one page
cannot clash), and is styled with presentation attributes only, which a page's CSS may override through the
`bpmn-*` classes and `data-*` attributes and which a Content-Security-Policy without 'unsafe-inline' still allows.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SVG_NS = "http://www.w3.org/2000/svg"

FONT_FAMILY = "'Noto Sans CJK SC', sans-serif"
MARGIN = 20.0

ACTIVITY_KINDS = frozenset({
    "task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
})
EVENT_KINDS = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
})
GATEWAY_KINDS = frozenset({
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
})
DATA_KINDS = frozenset({"dataObjectReference", "dataStoreReference"})
FLOW_NODE_KINDS = ACTIVITY_KINDS | EVENT_KINDS | GATEWAY_KINDS
CONNECTION_KINDS = frozenset({"sequenceFlow", "messageFlow", "association"})

# Shown as hover text for elements without a name, and in the accessible description.
KIND_LABELS = {
    "task": "任务", "userTask": "人工任务", "serviceTask": "系统任务", "scriptTask": "脚本任务", "sendTask": "发送任务",
    "receiveTask": "接收任务", "manualTask": "手工任务", "businessRuleTask": "规则任务", "callActivity": "调用子流程",
    "subProcess": "子流程", "transaction": "事务", "adHocSubProcess": "子流程",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间事件",
    "intermediateThrowEvent": "中间事件", "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "complexGateway": "复杂网关",
    "dataObjectReference": "数据对象", "dataStoreReference": "数据存储", "textAnnotation": "注释",
    "sequenceFlow": "顺序流", "messageFlow": "消息流", "association": "关联",
    "participant": "泳池", "lane": "泳道",
}
STATE_LABELS = {"current": "当前环节", "done": "已完成"}

# Colours: neutral ink, orange for "where the case is now", grey-green for "already done".
INK = "#333333"
PAPER = "#ffffff"
MUTED = "#666666"
CURRENT_STROKE = "#e8710a"
CURRENT_FILL = "#fff1e0"
DONE_STROKE = "#56705a"
DONE_FILL = "#d9e4d6"
FLOW_STROKE = "#6b6b6b"
DONE_FLOW_STROKE = "#2e5e3a"
# Marks: a check's findings (red for what refuses a deployment, amber for what only warns), and what a new version
# adds (green) or changes (blue) against an older one.
MARK_STROKES = {"error": "#cf222e", "warning": "#bf8700", "added": "#1a7f37", "changed": "#0969da"}
MARK_LABELS = {"error": "有错误", "warning": "有警告", "added": "新增", "changed": "有改动"}
MARK_BADGES = {"error": "!", "warning": "!", "added": "+", "changed": "~"}

TASK_FONT = 12.0
LABEL_FONT = 11.0
LANE_FONT = 13.0
LINE_HEIGHT = 1.25
LANE_BAND = 30.0  # the strip at a pool's or lane's edge where its name is written, as BPMN modellers draw it

# A line may not start with these: they hang at the end of the previous line instead (Chinese line breaking).
_NO_LINE_START = set("，。、；：？！）》」』】〕〉’”…,.;:?!)]}%")
_TOKEN = re.compile(r"[A-Za-z0-9_\-./:+#@&]+|\s+|.", re.DOTALL)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class DiagramError(ValueError):
    """The BPMN text cannot be drawn (not XML, or not safe to parse)."""


# --- reading the BPMN file ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass
class Element:
    """One element of the process model (not of the diagram): what it is and what it is called."""

    id: str
    kind: str
    name: str = ""
    event_definitions: tuple[str, ...] = ()  # "timer", "message", … for events
    attached_to: str | None = None  # boundary events
    interrupting: bool = True  # boundary events (cancelActivity) and start events (isInterrupting)
    default_flow: str | None = None  # gateways and activities
    source: str | None = None  # connections
    target: str | None = None
    conditional: bool = False  # sequence flows with a condition expression
    black_box: bool = False  # participants without a process (an outside party)


@dataclass(frozen=True)
class Shape:
    element: str
    bounds: Box
    label: Box | None
    horizontal: bool
    expanded: bool


@dataclass(frozen=True)
class Edge:
    element: str
    points: tuple[tuple[float, float], ...]
    label: Box | None


@dataclass
class Model:
    elements: dict[str, Element] = field(default_factory=dict)
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def flow_nodes(self) -> set[str]:
        return {e.id for e in self.elements.values() if e.kind in FLOW_NODE_KINDS}

    def sequence_flows(self) -> list[Element]:
        return [e for e in self.elements.values() if e.kind == "sequenceFlow"]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def _parse_xml(bpmn_xml: str) -> etree._Element:
    # The declaration is dropped so the text is read as the str it already is, whatever encoding it names.
    text = _XML_DECLARATION.sub("", bpmn_xml, count=1)
    try:
        root = etree.fromstring(text, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DiagramError(f"BPMN 文件不是有效的 XML，无法绘制流程图：{exc}") from exc
    # No entity is ever expanded (resolve_entities=False), but a DTD has no business in a BPMN file at all.
    if root.getroottree().docinfo.doctype:
        raise DiagramError("BPMN 文件含有 DOCTYPE 声明，出于安全考虑不予绘制")
    return root


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(tag: object) -> str | None:
    return etree.QName(tag).namespace if isinstance(tag, str) else None


def _number(node: etree._Element, name: str) -> float:
    value = float(node.get(name, "nan"))
    if not math.isfinite(value):
        raise ValueError(name)
    return value


def _box(node: etree._Element | None) -> Box | None:
    if node is None:
        return None
    try:
        return Box(_number(node, "x"), _number(node, "y"), _number(node, "width"), _number(node, "height"))
    except ValueError:
        return None


def _flag(node: etree._Element, name: str, default: bool) -> bool:
    value = node.get(name)
    return default if value is None else value.strip().lower() == "true"


def _read_element(node: etree._Element) -> Element:
    kind = _local(node.tag)
    element = Element(id=node.get("id", ""), kind=kind, name=(node.get("name") or "").strip())
    if kind == "textAnnotation":
        text = node.find(f"{{{BPMN_NS}}}text")
        element.name = (text.text or "").strip() if text is not None else ""
    if kind in EVENT_KINDS:
        element.event_definitions = tuple(
            _local(child.tag)[: -len("EventDefinition")] for child in node
            if _ns(child.tag) == BPMN_NS and _local(child.tag).endswith("EventDefinition"))
        element.attached_to = node.get("attachedToRef")
        element.interrupting = _flag(node, "cancelActivity", True) and _flag(node, "isInterrupting", True)
    if kind in CONNECTION_KINDS:
        element.source = node.get("sourceRef")
        element.target = node.get("targetRef")
        element.conditional = node.find(f"{{{BPMN_NS}}}conditionExpression") is not None
    if kind == "participant":
        element.black_box = not node.get("processRef")
    element.default_flow = node.get("default")
    return element


@functools.lru_cache(maxsize=32)
def read_model(bpmn_xml: str) -> Model:
    """The process elements of a BPMN file and the shapes and edges of its first diagram (cached per text: a case
    page draws the same few definition versions again and again; treat the result as read-only)."""
    root = _parse_xml(bpmn_xml)
    model = Model()
    for node in root.iter():
        if _ns(node.tag) == BPMN_NS and node.get("id"):
            element = _read_element(node)
            model.elements.setdefault(element.id, element)
    # Only the first diagram: further diagrams of a file show the inside of collapsed subprocesses, elsewhere.
    plane = root.find(f"{{{BPMNDI_NS}}}BPMNDiagram/{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return model
    for node in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
        ref = node.get("bpmnElement")
        if not ref or ref not in model.elements:
            continue
        label = _box(node.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds"))
        if _local(node.tag) == "BPMNShape":
            bounds = _box(node.find(f"{{{DC_NS}}}Bounds"))
            if bounds is not None:
                model.shapes.append(Shape(ref, bounds, label, _flag(node, "isHorizontal", True),
                                          _flag(node, "isExpanded", False)))
            continue
        points = []
        for waypoint in node.findall(f"{{{DI_NS}}}waypoint"):
            try:
                points.append((_number(waypoint, "x"), _number(waypoint, "y")))
            except ValueError:
                continue
        if len(points) >= 2:
            model.edges.append(Edge(ref, tuple(points), label))
    return model


def element_ids(bpmn_xml: str) -> set[str]:
    """The ids of the process model's flow nodes, connections, pools and lanes (what the diagram can draw)."""
    kinds = FLOW_NODE_KINDS | CONNECTION_KINDS | DATA_KINDS | {"participant", "lane", "textAnnotation"}
    return {e.id for e in read_model(bpmn_xml).elements.values() if e.kind in kinds}


# --- text -----------------------------------------------------------------------------------------------------------

def _char_width(char: str) -> float:
    """Width of a character in em: CJK characters are square, Latin text is roughly half as wide."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if char.isspace():
        return 0.3
    if char in "iIl.,;:!|'()[]":
        return 0.3
    if char.isupper() or char in "mwMW@%":
        return 0.7
    return 0.56


def text_width(text: str, font_size: float) -> float:
    return sum(_char_width(c) for c in text) * font_size


def wrap_text(text: str, max_width: float, font_size: float) -> list[str]:
    """Break a name into lines no wider than `max_width`: Chinese between any two characters, Latin words kept
    whole where they fit, closing punctuation never at the start of a line."""
    lines: list[str] = []
    for paragraph in text.replace("\r", "").split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            if text_width(line + token, font_size) <= max_width or not line.strip() and token.isspace():
                line += token
                continue
            if token.isspace():
                lines.append(line.rstrip())
                line = ""
                continue
            if token in _NO_LINE_START:
                # Never open a line with it: the character before it moves down too, or, if it is alone, it hangs.
                if len(line.rstrip()) >= 2 and not line.rstrip()[-1].isspace():
                    kept = line.rstrip()
                    lines.append(kept[:-1])
                    line = kept[-1] + token
                else:
                    line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = ""
            for char in token:  # a word wider than the line is cut where it must be
                if line and text_width(line + char, font_size) > max_width:
                    lines.append(line)
                    line = ""
                line += char
        lines.append(line.strip())
    return [line for line in lines if line]


def _truncate(text: str, max_width: float, font_size: float) -> str:
    if text_width(text, font_size) <= max_width:
        return text
    while text and text_width(text + "…", font_size) > max_width:
        text = text[:-1]
    return text + "…"


def _clip_lines(lines: list[str], max_lines: int, max_width: float, font_size: float) -> list[str]:
    """At most `max_lines`; a cut name ends with an ellipsis (the full name is in the hover text)."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max(max_lines, 1)]
    kept[-1] = _truncate(kept[-1] + "…", max_width, font_size)
    return kept


def _xml_text(value: str) -> str:
    return _NOT_XML_CHARS.sub("", value)


# --- building the SVG -----------------------------------------------------------------------------------------------

def _fmt(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _node(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    """An SVG child element; attribute names use `_` for `-` (stroke_width → stroke-width)."""
    node = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for name, value in attrs.items():
        if value is None:
            continue
        text = _fmt(value) if isinstance(value, float) else str(value)
        node.set(name.rstrip("_").replace("_", "-"), _xml_text(text))
    return node


def _points(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)


def _title(parent: etree._Element, text: str) -> None:
    _node(parent, "title").text = _xml_text(text)


def _text_block(parent: etree._Element, lines: list[str], cx: float, top: float, font_size: float, *,
                halo: bool = False, css_class: str = "bpmn-name") -> None:
    """Lines centred on `cx`, the first line's box starting at `top`."""
    if not lines:
        return
    step = font_size * LINE_HEIGHT
    text = _node(parent, "text", class_=css_class, x=cx, y=top, font_size=_fmt(font_size), text_anchor="middle",
                 fill=INK, **({"stroke": PAPER, "stroke_width": "3", "paint_order": "stroke",
                               "stroke_linejoin": "round"} if halo else {}))
    for index, line in enumerate(lines):
        # Baseline at ~0.85 em below the line's top: the ascent of a CJK font.
        span = _node(text, "tspan", x=cx, y=top + index * step + font_size * 0.88)
        span.text = _xml_text(line)


@dataclass(frozen=True)
class Paint:
    stroke: str
    fill: str
    stroke_width: float


def _state_of(element_id: str, current: Collection[str], done: Collection[str]) -> str | None:
    # An element the case is in again (a loop) is current, though it was completed before.
    if element_id in current:
        return "current"
    if element_id in done:
        return "done"
    return None


def _paint(state: str | None, base_width: float = 1.5) -> Paint:
    if state == "current":
        return Paint(CURRENT_STROKE, CURRENT_FILL, max(base_width, 3.0))
    if state == "done":
        return Paint(DONE_STROKE, DONE_FILL, base_width)
    return Paint(INK, PAPER, base_width)


def _hover(element: Element, state: str | None) -> str:
    name = element.name or KIND_LABELS.get(element.kind, element.kind)
    return f"{name}（{STATE_LABELS[state]}）" if state else name


def _group(parent: etree._Element, element: Element, state: str | None) -> etree._Element:
    classes = ["bpmn-shape", f"bpmn-{element.kind}"]
    if state:
        classes.append(f"bpmn-{state}")
    group = _node(parent, "g", class_=" ".join(classes), data_bpmn_id=element.id, data_bpmn_type=element.kind,
                  data_state=state, aria_current="step" if state == "current" else None)
    _title(group, _hover(element, state))
    return group


# --- pools and lanes ------------------------------------------------------------------------------------------------

def _vertical_name(parent: etree._Element, name: str, cx: float, cy: float, length: float) -> None:
    """A pool's or lane's name written top to bottom in its band (Chinese characters upright)."""
    size = LANE_FONT
    while size > 9 and text_width(name, size) > length:
        size -= 1
    text = _node(parent, "text", class_="bpmn-name", x=cx, y=cy, font_size=_fmt(size), text_anchor="middle",
                 dominant_baseline="central", writing_mode="vertical-rl", fill=INK)
    text.text = _xml_text(_truncate(name, length, size))


def _draw_container(parent: etree._Element, element: Element, shape: Shape) -> None:
    box = shape.bounds
    group = _group(parent, element, None)
    is_pool = element.kind == "participant"
    _node(group, "rect", x=box.x, y=box.y, width=box.width, height=box.height, fill=PAPER if is_pool else "none",
          stroke=INK if is_pool else "#8a8a8a", stroke_width="1.5" if is_pool else "1")
    if not element.name:
        return
    if element.black_box:  # an outside party: its name across the middle, as modellers draw it
        lines = _clip_lines(wrap_text(element.name, box.width - 20, LANE_FONT), 2, box.width - 20, LANE_FONT)
        _text_block(group, lines, box.cx, box.cy - len(lines) * LANE_FONT * LINE_HEIGHT / 2, LANE_FONT)
        return
    if shape.horizontal:
        if is_pool:
            _node(group, "line", x1=box.x + LANE_BAND, y1=box.y, x2=box.x + LANE_BAND, y2=box.bottom,
                  stroke=INK, stroke_width="1")
        _vertical_name(group, element.name, box.x + LANE_BAND / 2, box.cy, box.height - 12)
    else:
        if is_pool:
            _node(group, "line", x1=box.x, y1=box.y + LANE_BAND, x2=box.right, y2=box.y + LANE_BAND,
                  stroke=INK, stroke_width="1")
        lines = _clip_lines(wrap_text(element.name, box.width - 12, LANE_FONT), 1, box.width - 12, LANE_FONT)
        _text_block(group, lines, box.cx, box.y + (LANE_BAND - LANE_FONT) / 2 - 1, LANE_FONT)


# --- activities -----------------------------------------------------------------------------------------------------

def _user_icon(parent: etree._Element, x: float, y: float, stroke: str) -> None:
    icon = _node(parent, "g", class_="bpmn-icon", fill="none", stroke=stroke, stroke_width="1.2")
    _node(icon, "circle", cx=x + 7, cy=y + 4.5, r=3.5)
    _node(icon, "path", d=f"M{_fmt(x + 1)},{_fmt(y + 15)} v-2.5 a6,5 0 0 1 12,0 v2.5 z")


def _service_icon(parent: etree._Element, x: float, y: float, stroke: str) -> None:
    icon = _node(parent, "g", class_="bpmn-icon", fill="none", stroke=stroke)
    cx, cy = x + 7, y + 7
    # A cog: eight teeth as a dashed thick ring, around a hub.
    _node(icon, "circle", cx=cx, cy=cy, r=5.0, stroke_width="3", stroke_dasharray=f"{_fmt(2 * math.pi * 5 / 16)}")
    _node(icon, "circle", cx=cx, cy=cy, r=3.5, stroke_width="1.2", fill=PAPER)
    _node(icon, "circle", cx=cx, cy=cy, r=1.5, stroke_width="1")


def _script_icon(parent: etree._Element, x: float, y: float, stroke: str) -> None:
    icon = _node(parent, "g", class_="bpmn-icon", fill="none", stroke=stroke, stroke_width="1")
    _node(icon, "path", d=f"M{_fmt(x + 2)},{_fmt(y + 1)} h10 c-3,3 3,9 0,13 h-10 c3,-4 -3,-10 0,-13 z")
    for dy in (4.5, 7.5, 10.5):
        _node(icon, "line", x1=x + 4, y1=y + dy, x2=x + 10, y2=y + dy)


def _envelope(parent: etree._Element, cx: float, cy: float, w: float, stroke: str, filled: bool) -> None:
    h = w * 0.7
    x, y = cx - w / 2, cy - h / 2
    icon = _node(parent, "g", class_="bpmn-icon", stroke=stroke, stroke_width="1",
                 fill=stroke if filled else "none")
    _node(icon, "rect", x=x, y=y, width=w, height=h)
    _node(icon, "polyline", points=_points([(x, y), (cx, cy + h * 0.1), (x + w, y)]),
          stroke=PAPER if filled else stroke, fill="none")


ICONS = {"userTask": _user_icon, "serviceTask": _service_icon, "scriptTask": _script_icon}
KIND_TAGS = {"manualTask": "手工", "businessRuleTask": "规则"}  # small written marker where no icon is drawn


def _draw_activity(parent: etree._Element, element: Element, shape: Shape, state: str | None) -> None:
    box = shape.bounds
    group = _group(parent, element, state)
    base = 3.0 if element.kind == "callActivity" else 1.5
    paint = _paint(state, base)
    _node(group, "rect", class_="bpmn-body", x=box.x, y=box.y, width=box.width, height=box.height, rx=10.0, ry=10.0,
          fill=paint.fill, stroke=paint.stroke, stroke_width=_fmt(paint.stroke_width))
    if element.kind == "transaction":
        _node(group, "rect", x=box.x + 3, y=box.y + 3, width=box.width - 6, height=box.height - 6, rx=7.0, ry=7.0,
              fill="none", stroke=paint.stroke, stroke_width="1")
    icon_ink = CURRENT_STROKE if state == "current" else INK
    has_icon = True
    if element.kind in ICONS:
        ICONS[element.kind](group, box.x + 6, box.y + 5, icon_ink)
    elif element.kind in ("sendTask", "receiveTask"):
        _envelope(group, box.x + 13, box.y + 12, 14, icon_ink, filled=element.kind == "sendTask")
    elif element.kind in KIND_TAGS:
        tag = _node(group, "text", class_="bpmn-kind", x=box.x + 6, y=box.y + 14, font_size="9", fill=MUTED)
        tag.text = KIND_TAGS[element.kind]
    else:
        has_icon = False
    if element.kind in ("subProcess", "callActivity", "adHocSubProcess") and not shape.expanded:
        sx, sy = box.cx - 7, box.bottom - 16  # the collapsed-subprocess [+]
        _node(group, "rect", x=sx, y=sy, width=14.0, height=14.0, fill="none", stroke=paint.stroke, stroke_width="1")
        _node(group, "path", d=f"M{_fmt(sx + 3)},{_fmt(sy + 7)} h8 M{_fmt(sx + 7)},{_fmt(sy + 3)} v8",
              stroke=paint.stroke, stroke_width="1")
    if not element.name:
        return
    width = box.width - 12
    step = TASK_FONT * LINE_HEIGHT
    expanded_container = element.kind in ("subProcess", "transaction", "adHocSubProcess") and shape.expanded
    room = (min(box.height, 40.0) if expanded_container else box.height) - 8
    lines = _clip_lines(wrap_text(element.name, width, TASK_FONT), max(int(room // step), 1), width, TASK_FONT)
    block = len(lines) * step
    top = box.y + 6 if expanded_container else box.y + (box.height - block) / 2
    if has_icon and top < box.y + 20:  # keep clear of the type icon where there is room
        top = max(top, min(box.y + 20, box.bottom - 4 - block))
    _text_block(group, lines, box.cx, top, TASK_FONT)


# --- events ---------------------------------------------------------------------------------------------------------

def _event_marker(group: etree._Element, element: Element, box: Box, stroke: str) -> None:
    throwing = element.kind in ("endEvent", "intermediateThrowEvent")
    cx, cy, r = box.cx, box.cy, min(box.width, box.height) / 2
    definitions = element.event_definitions
    if len(definitions) > 1:  # multiple: a pentagon
        corners = [(cx + r * 0.5 * math.sin(2 * math.pi * k / 5), cy - r * 0.5 * math.cos(2 * math.pi * k / 5))
                   for k in range(5)]
        _node(group, "polygon", points=_points(corners), fill=stroke if throwing else "none", stroke=stroke,
              stroke_width="1")
        return
    kind = definitions[0] if definitions else ""
    if kind == "timer":
        clock = _node(group, "g", class_="bpmn-icon", stroke=stroke, fill=PAPER)
        _node(clock, "circle", cx=cx, cy=cy, r=r * 0.55, stroke_width="1.5")
        for k in range(12):
            angle = 2 * math.pi * k / 12
            inner, outer = r * 0.42, r * 0.52
            _node(clock, "line", x1=cx + inner * math.sin(angle), y1=cy - inner * math.cos(angle),
                  x2=cx + outer * math.sin(angle), y2=cy - outer * math.cos(angle), stroke_width="0.8")
        _node(clock, "polyline", points=_points([(cx, cy - r * 0.38), (cx, cy), (cx + r * 0.28, cy)]), fill="none",
              stroke_width="1.3")
    elif kind == "message":
        _envelope(group, cx, cy, r * 0.95, stroke, filled=throwing)
    elif kind == "signal":
        _node(group, "polygon", points=_points([(cx, cy - r * 0.5), (cx + r * 0.45, cy + r * 0.3),
                                                (cx - r * 0.45, cy + r * 0.3)]),
              fill=stroke if throwing else "none", stroke=stroke, stroke_width="1")
    elif kind == "terminate":
        _node(group, "circle", cx=cx, cy=cy, r=r * 0.55, fill=stroke, stroke="none")
    elif kind == "error":
        _node(group, "polygon", points=_points([(cx - r * 0.45, cy + r * 0.4), (cx - r * 0.2, cy - r * 0.4),
                                                (cx + r * 0.1, cy + r * 0.05), (cx + r * 0.45, cy - r * 0.4),
                                                (cx + r * 0.2, cy + r * 0.4), (cx - r * 0.1, cy - r * 0.05)]),
              fill=stroke if throwing else "none", stroke=stroke, stroke_width="1")
    elif kind == "escalation":
        _node(group, "polygon", points=_points([(cx, cy - r * 0.5), (cx + r * 0.35, cy + r * 0.45), (cx, cy + r * 0.1),
                                                (cx - r * 0.35, cy + r * 0.45)]),
              fill=stroke if throwing else "none", stroke=stroke, stroke_width="1")
    elif kind == "conditional":
        _node(group, "rect", x=cx - r * 0.35, y=cy - r * 0.45, width=r * 0.7, height=r * 0.9, fill="none",
              stroke=stroke, stroke_width="1")
        for k in (-0.25, 0.0, 0.25):
            _node(group, "line", x1=cx - r * 0.22, y1=cy + r * k, x2=cx + r * 0.22, y2=cy + r * k, stroke=stroke,
                  stroke_width="0.8")


def _draw_event(parent: etree._Element, element: Element, shape: Shape, state: str | None) -> None:
    box = shape.bounds
    group = _group(parent, element, state)
    cx, cy, r = box.cx, box.cy, min(box.width, box.height) / 2
    dash = None if element.interrupting else "4 2.5"
    if element.kind == "startEvent":
        paint = _paint(state, 1.5)
        _node(group, "circle", class_="bpmn-body", cx=cx, cy=cy, r=r, fill=paint.fill, stroke=paint.stroke,
              stroke_width=_fmt(paint.stroke_width), stroke_dasharray=dash)
    elif element.kind == "endEvent":
        paint = _paint(state, 4.0)
        _node(group, "circle", class_="bpmn-body", cx=cx, cy=cy, r=r - 1.5, fill=paint.fill, stroke=paint.stroke,
              stroke_width=_fmt(paint.stroke_width))
    else:  # intermediate and boundary events: a double ring
        paint = _paint(state, 1.5)
        _node(group, "circle", class_="bpmn-body", cx=cx, cy=cy, r=r, fill=paint.fill, stroke=paint.stroke,
              stroke_width=_fmt(paint.stroke_width), stroke_dasharray=dash)
        _node(group, "circle", cx=cx, cy=cy, r=r - 3.5, fill="none", stroke=paint.stroke, stroke_width="1",
              stroke_dasharray=dash)
    _event_marker(group, element, box, CURRENT_STROKE if state == "current" else INK)
    _external_label(group, element, shape)


# --- gateways -------------------------------------------------------------------------------------------------------

def _draw_gateway(parent: etree._Element, element: Element, shape: Shape, state: str | None) -> None:
    box = shape.bounds
    group = _group(parent, element, state)
    paint = _paint(state, 1.5)
    cx, cy, hw, hh = box.cx, box.cy, box.width / 2, box.height / 2
    _node(group, "polygon", class_="bpmn-body", points=_points([(cx, box.y), (box.right, cy), (cx, box.bottom),
                                                                (box.x, cy)]),
          fill=paint.fill, stroke=paint.stroke, stroke_width=_fmt(paint.stroke_width), stroke_linejoin="round")
    ink = CURRENT_STROKE if state == "current" else INK
    a, b = hw * 0.32, hh * 0.32
    if element.kind == "exclusiveGateway":
        _node(group, "path", d=f"M{_fmt(cx - a)},{_fmt(cy - b)} L{_fmt(cx + a)},{_fmt(cy + b)} "
                               f"M{_fmt(cx + a)},{_fmt(cy - b)} L{_fmt(cx - a)},{_fmt(cy + b)}",
              stroke=ink, stroke_width="3.5", stroke_linecap="round", fill="none")
    elif element.kind == "parallelGateway":
        a, b = hw * 0.45, hh * 0.45
        _node(group, "path", d=f"M{_fmt(cx - a)},{_fmt(cy)} H{_fmt(cx + a)} M{_fmt(cx)},{_fmt(cy - b)} V{_fmt(cy + b)}",
              stroke=ink, stroke_width="3.5", fill="none")
    elif element.kind == "inclusiveGateway":
        _node(group, "circle", cx=cx, cy=cy, r=min(hw, hh) * 0.45, fill="none", stroke=ink, stroke_width="2.5")
    elif element.kind == "complexGateway":
        a, b = hw * 0.42, hh * 0.42
        _node(group, "path", d=f"M{_fmt(cx - a)},{_fmt(cy)} H{_fmt(cx + a)} M{_fmt(cx)},{_fmt(cy - b)} V{_fmt(cy + b)} "
                               f"M{_fmt(cx - a * 0.7)},{_fmt(cy - b * 0.7)} L{_fmt(cx + a * 0.7)},{_fmt(cy + b * 0.7)} "
                               f"M{_fmt(cx + a * 0.7)},{_fmt(cy - b * 0.7)} L{_fmt(cx - a * 0.7)},{_fmt(cy + b * 0.7)}",
              stroke=ink, stroke_width="2.5", fill="none")
    elif element.kind == "eventBasedGateway":
        r = min(hw, hh) * 0.5
        _node(group, "circle", cx=cx, cy=cy, r=r, fill="none", stroke=ink, stroke_width="1")
        _node(group, "circle", cx=cx, cy=cy, r=r - 2.5, fill="none", stroke=ink, stroke_width="1")
        corners = [(cx + r * 0.55 * math.sin(2 * math.pi * k / 5), cy - r * 0.55 * math.cos(2 * math.pi * k / 5))
                   for k in range(5)]
        _node(group, "polygon", points=_points(corners), fill="none", stroke=ink, stroke_width="1")
    _external_label(group, element, shape)


def _external_label(group: etree._Element, element: Element, shape: Shape) -> None:
    """Events and gateways carry their name outside the shape: in the label bounds the modeller placed, else
    centred below the shape."""
    if not element.name:
        return
    box = shape.bounds
    if shape.label is not None:
        lines = _label_lines(element.name, shape.label)
        cx, top = shape.label.cx, shape.label.y
    else:
        width = max(box.width * 2.5, 90.0)
        lines = _clip_lines(wrap_text(element.name, width, LABEL_FONT), 4, width, LABEL_FONT)
        cx, top = box.cx, box.bottom + 4
    _text_block(group, lines, cx, top, LABEL_FONT, halo=True, css_class="bpmn-name bpmn-label")


def _label_lines(name: str, bounds: Box) -> list[str]:
    """A name wrapped into the label bounds the modeller placed. Modellers size them with narrower Latin metrics,
    so where the name does not fit in as many lines as the bounds are high, it gets a little more width."""
    fits = max(int((bounds.height + 2) // (LABEL_FONT * LINE_HEIGHT)), 1)
    lines = wrap_text(name, bounds.width, LABEL_FONT)
    if len(lines) > fits:
        lines = wrap_text(name, bounds.width + 14, LABEL_FONT)
    return _clip_lines(lines, max(fits, 4), bounds.width + 14, LABEL_FONT)


# --- data and annotations -------------------------------------------------------------------------------------------

def _draw_artifact(parent: etree._Element, element: Element, shape: Shape) -> None:
    box = shape.bounds
    group = _group(parent, element, None)
    if element.kind == "textAnnotation":
        _node(group, "path", d=f"M{_fmt(box.x + 10)},{_fmt(box.y)} H{_fmt(box.x)} V{_fmt(box.bottom)} "
                               f"H{_fmt(box.x + 10)}", fill="none", stroke=MUTED, stroke_width="1")
        width = box.width - 8
        room = max(int((box.height - 4) // (LABEL_FONT * LINE_HEIGHT)), 1)
        lines = _clip_lines(wrap_text(element.name, width, LABEL_FONT), room, width, LABEL_FONT)
        text = _node(group, "text", class_="bpmn-name", x=box.x + 5, y=box.y + 3, font_size=_fmt(LABEL_FONT),
                     fill=INK)
        for index, line in enumerate(lines):
            _node(text, "tspan", x=box.x + 5, y=box.y + 3 + index * LABEL_FONT * LINE_HEIGHT + LABEL_FONT * 0.88
                  ).text = _xml_text(line)
        return
    if element.kind == "dataObjectReference":
        fold = min(box.width, box.height) * 0.3
        _node(group, "path", d=f"M{_fmt(box.x)},{_fmt(box.y)} H{_fmt(box.right - fold)} L{_fmt(box.right)},"
                               f"{_fmt(box.y + fold)} V{_fmt(box.bottom)} H{_fmt(box.x)} Z "
                               f"M{_fmt(box.right - fold)},{_fmt(box.y)} V{_fmt(box.y + fold)} H{_fmt(box.right)}",
              fill=PAPER, stroke=INK, stroke_width="1.2")
    else:  # a data store: a cylinder
        ry = min(box.height * 0.15, 8.0)
        _node(group, "path", d=f"M{_fmt(box.x)},{_fmt(box.y + ry)} A{_fmt(box.width / 2)},{_fmt(ry)} 0 0 1 "
                               f"{_fmt(box.right)},{_fmt(box.y + ry)} V{_fmt(box.bottom - ry)} A{_fmt(box.width / 2)},"
                               f"{_fmt(ry)} 0 0 1 {_fmt(box.x)},{_fmt(box.bottom - ry)} Z "
                               f"M{_fmt(box.x)},{_fmt(box.y + ry)} A{_fmt(box.width / 2)},{_fmt(ry)} 0 0 0 "
                               f"{_fmt(box.right)},{_fmt(box.y + ry)}",
              fill=PAPER, stroke=INK, stroke_width="1.2")
    _external_label(group, element, shape)


# --- connections ----------------------------------------------------------------------------------------------------

def _unit(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    return dx / length, dy / length


def _arrowhead(tip: tuple[float, float], direction: tuple[float, float], size: float) -> list[tuple[float, float]]:
    ux, uy = direction
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    half = size * 0.4
    return [tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]


def _midpoint(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """The point halfway along a polyline (where an unplaced flow label goes)."""
    lengths = [math.dist(a, b) for a, b in zip(points, points[1:], strict=False)]
    remaining = sum(lengths) / 2
    for (a, b), length in zip(zip(points, points[1:], strict=False), lengths, strict=True):
        if remaining <= length and length > 0:
            t = remaining / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        remaining -= length
    return points[-1]


def _draw_connection(parent: etree._Element, element: Element, edge: Edge, done: bool,
                     source: Element | None) -> None:
    points = edge.points
    classes = ["bpmn-flow", f"bpmn-{element.kind}"]
    if done:
        classes.append("bpmn-flow-done")
    if element.kind == "sequenceFlow" and source is not None and source.default_flow == element.id:
        classes.append("bpmn-default-flow")
    group = _node(parent, "g", class_=" ".join(classes), data_bpmn_id=element.id, data_bpmn_type=element.kind,
                  data_state="done" if done else None)
    _title(group, _flow_hover(element, source, done))
    stroke = DONE_FLOW_STROKE if done else FLOW_STROKE
    width = 2.6 if done else 1.3
    if element.kind == "association":
        _node(group, "polyline", points=_points(points), fill="none", stroke=MUTED, stroke_width="1",
              stroke_dasharray="2 3")
    elif element.kind == "messageFlow":
        direction = _unit(points[-2], points[-1])
        body = [*points[:-1], (points[-1][0] - direction[0] * 9, points[-1][1] - direction[1] * 9)]
        _node(group, "polyline", points=_points(body), fill="none", stroke=stroke, stroke_width=_fmt(width),
              stroke_dasharray="6 4")
        _node(group, "circle", cx=points[0][0], cy=points[0][1], r=3.5, fill=PAPER, stroke=stroke, stroke_width="1")
        _node(group, "polygon", points=_points(_arrowhead(points[-1], direction, 10.0)), fill=PAPER, stroke=stroke,
              stroke_width="1")
    else:
        direction = _unit(points[-2], points[-1])
        size = 11.0 if done else 9.0
        # The line stops inside the arrowhead so a thick line does not poke through its tip.
        body = [*points[:-1], (points[-1][0] - direction[0] * size * 0.6, points[-1][1] - direction[1] * size * 0.6)]
        _node(group, "polyline", points=_points(body), fill="none", stroke=stroke, stroke_width=_fmt(width),
              stroke_linejoin="round")
        _node(group, "polygon", points=_points(_arrowhead(points[-1], direction, size)), fill=stroke, stroke=stroke,
              stroke_width="1", stroke_linejoin="round")
        start, ux_uy = points[0], _unit(points[0], points[1])
        ux, uy = ux_uy
        if "bpmn-default-flow" in classes:  # the default flow's slash near its source
            cx, cy = start[0] + ux * 10, start[1] + uy * 10
            _node(group, "line", class_="bpmn-default-marker", x1=cx - uy * 5 - ux * 3, y1=cy + ux * 5 - uy * 3,
                  x2=cx + uy * 5 + ux * 3, y2=cy - ux * 5 + uy * 3, stroke=stroke, stroke_width="1.5")
        elif element.conditional and source is not None and source.kind in ACTIVITY_KINDS:
            # A condition straight out of an activity: the small open diamond at its start.
            tip = (start[0] + ux * 14, start[1] + uy * 14)
            mid = (start[0] + ux * 7, start[1] + uy * 7)
            _node(group, "polygon", points=_points([start, (mid[0] - uy * 4, mid[1] + ux * 4), tip,
                                                    (mid[0] + uy * 4, mid[1] - ux * 4)]),
                  fill=PAPER, stroke=stroke, stroke_width="1")
    if element.name:
        if edge.label is not None:
            lines = _label_lines(element.name, edge.label)
            cx, top = edge.label.cx, edge.label.y
        else:
            lines = _clip_lines(wrap_text(element.name, 110.0, LABEL_FONT), 3, 110.0, LABEL_FONT)
            mid = _midpoint(points)
            cx, top = mid[0], mid[1] - LABEL_FONT * LINE_HEIGHT - 2
        _text_block(group, lines, cx, top, LABEL_FONT, halo=True, css_class="bpmn-name bpmn-label")


def _flow_hover(element: Element, source: Element | None, done: bool) -> str:
    if element.name:
        text = element.name
    else:
        kind = KIND_LABELS.get(element.kind, element.kind)
        text = f"{kind}：{source.name}" if source is not None and source.name else kind
    return f"{text}（已走过）" if done else text


# --- the whole picture ----------------------------------------------------------------------------------------------

def _extent(model: Model) -> Box:
    xs: list[float] = []
    ys: list[float] = []
    for shape in model.shapes:
        for box in (shape.bounds, shape.label):
            if box is not None:
                xs += [box.x, box.right]
                ys += [box.y, box.bottom]
    for edge in model.edges:
        xs += [p[0] for p in edge.points]
        ys += [p[1] for p in edge.points]
        if edge.label is not None:
            xs += [edge.label.x, edge.label.right]
            ys += [edge.label.y, edge.label.bottom]
    if not xs:
        return Box(0, 0, 100, 50)
    return Box(min(xs) - MARGIN, min(ys) - MARGIN, max(xs) - min(xs) + 2 * MARGIN, max(ys) - min(ys) + 2 * MARGIN)


def _ordered_shapes(model: Model) -> Iterator[tuple[int, Shape, Element]]:
    """Shapes in painting order: pools, lanes, then activities and the rest, then boundary events on their hosts."""
    for shape in model.shapes:
        element = model.elements[shape.element]
        if element.kind == "participant":
            layer = 0
        elif element.kind == "lane":
            layer = 1
        elif element.kind == "boundaryEvent":
            layer = 4
        elif element.kind in ACTIVITY_KINDS and shape.expanded:
            layer = 2  # an expanded subprocess lies under its contents
        else:
            layer = 3
        yield layer, shape, element


def diagram_svg(bpmn_xml: str, *, current: Collection[str] = (), done: Collection[str] = (),
                done_flows: Collection[str] = (), title: str = "", marks: Mapping[str, str] | None = None,
                mark_notes: Mapping[str, str] | None = None) -> str:
    """The BPMN file's first diagram as a self-contained `<svg>` element (a string to embed in a page).

    `current`: ids of the elements the case is at now (highlighted, hover text “当前环节”); `done`: ids of elements
    completed (shaded); `done_flows`: ids of sequence flows the case has passed (drawn darker and thicker).
    `marks`: element id → "error" or "warning" (a check's findings) or "added" or "changed" (against an older
    version), outlined in red, amber, green or blue with a badge, on top of everything else; `mark_notes`: element id
    → the hover text of its mark (the findings' messages, what changed).
    Raises DiagramError if the text is not (safe) XML."""
    model = read_model(bpmn_xml)
    current, done, done_flows = set(current), set(done), set(done_flows)
    view = _extent(model)
    label = _xml_text(title.strip()) or "流程图"
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    for name, value in (("class", "bpmn-diagram"), ("viewBox", " ".join(_fmt(v) for v in (
            view.x, view.y, view.width, view.height))), ("width", "100%"), ("role", "img"), ("aria-label", label),
            ("font-family", FONT_FAMILY), ("font-size", _fmt(TASK_FONT))):
        svg.set(name, value)
    _title(svg, label)
    current_names = [_hover(model.elements[i], None) for i in sorted(current) if i in model.elements]
    summary = f"当前环节：{'、'.join(current_names)}" if current_names else "当前没有进行中的环节"
    _node(svg, "desc").text = _xml_text(f"{summary}；已完成 {len(done & model.flow_nodes())} 个环节。")

    shapes = sorted(_ordered_shapes(model), key=lambda item: item[0])
    containers = _node(svg, "g", class_="bpmn-containers")
    for layer, shape, element in shapes:
        if layer <= 1:
            _draw_container(containers, element, shape)
    flows = _node(svg, "g", class_="bpmn-flows")
    for edge in model.edges:
        element = model.elements[edge.element]
        if element.kind in CONNECTION_KINDS:
            source = model.elements.get(element.source or "")
            _draw_connection(flows, element, edge, edge.element in done_flows, source)
    nodes = _node(svg, "g", class_="bpmn-nodes")
    for layer, shape, element in shapes:
        if layer <= 1:
            continue
        state = _state_of(element.id, current, done)
        if element.kind in ACTIVITY_KINDS:
            _draw_activity(nodes, element, shape, state)
        elif element.kind in EVENT_KINDS:
            _draw_event(nodes, element, shape, state)
        elif element.kind in GATEWAY_KINDS:
            _draw_gateway(nodes, element, shape, state)
        elif element.kind in DATA_KINDS or element.kind == "textAnnotation":
            _draw_artifact(nodes, element, shape)
    if marks:
        _draw_marks(svg, model, marks, mark_notes or {})
    return etree.tostring(svg, encoding="unicode")


def marked_ids(bpmn_xml: str, ids: Collection[str]) -> set[str]:
    """Those of `ids` that the diagram draws (a shape or an edge), i.e. that `marks` can show."""
    model = read_model(bpmn_xml)
    drawn = {shape.element for shape in model.shapes} | {edge.element for edge in model.edges}
    return drawn & set(ids)


def _draw_marks(svg: etree._Element, model: Model, marks: Mapping[str, str], notes: Mapping[str, str]) -> None:
    """Marks on the picture: an outline around each marked shape (along each marked edge) and a badge, in a layer of
    their own above the diagram so a mark on a lane is not hidden by the tasks inside it."""
    layer = _node(svg, "g", class_="bpmn-marks")
    for shape in model.shapes:
        if shape.element not in marks:
            continue
        kind = _mark_kind(marks[shape.element])
        group = _mark_group(layer, model.elements[shape.element], kind, notes)
        box = shape.bounds
        _node(group, "rect", x=box.x - 4, y=box.y - 4, width=box.width + 8, height=box.height + 8, rx=6.0, ry=6.0,
              fill="none", stroke=MARK_STROKES[kind], stroke_width="3", stroke_dasharray="7 3")
        _mark_badge(group, box.right, box.y, kind)
    for edge in model.edges:
        if edge.element not in marks:
            continue
        kind = _mark_kind(marks[edge.element])
        group = _mark_group(layer, model.elements[edge.element], kind, notes)
        _node(group, "polyline", points=_points(edge.points), fill="none", stroke=MARK_STROKES[kind],
              stroke_width="5", stroke_opacity="0.45", stroke_linejoin="round")
        _mark_badge(group, *_midpoint(edge.points), kind)


def _mark_kind(value: str) -> str:
    return value if value in MARK_STROKES else "error"  # an unknown kind is shown, not dropped


def _mark_group(parent: etree._Element, element: Element, kind: str, notes: Mapping[str, str]) -> etree._Element:
    group = _node(parent, "g", class_=f"bpmn-mark bpmn-mark-{kind}", data_bpmn_id=element.id, data_mark=kind)
    name = element.name or KIND_LABELS.get(element.kind, element.kind)
    _title(group, f"{name}（{element.id}）：{notes.get(element.id) or MARK_LABELS[kind]}")
    return group


def _mark_badge(parent: etree._Element, cx: float, cy: float, kind: str) -> None:
    _node(parent, "circle", cx=cx, cy=cy, r=8.0, fill=MARK_STROKES[kind], stroke=PAPER, stroke_width="1.5")
    badge = _node(parent, "text", x=cx, y=cy + 4.5, font_size="13", font_weight="bold", text_anchor="middle",
                  fill=PAPER)
    badge.text = MARK_BADGES[kind]
