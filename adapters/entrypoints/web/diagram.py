"""A process diagram on a page: what the browser's bpmn-js viewer (`static/diagram.js`, bpmn-js's NavigatedViewer)
is given to draw, and the little the server itself reads from the BPMN's diagram information (BPMN DI).

bpmn-js draws the file as its modeller drew it; the server only says what to mark on it (element id → kind: the
case's current step, completed steps and flows taken; a check's findings; what a version added or changed) and in
which words (the diff page draws two: the old version with what the new one removed, the new with what it added or
changed), and refuses what must not reach the page: text that is not XML or carries a DOCTYPE, or a file without
shapes (then the page says so in Chinese instead of showing an empty canvas). The payload is embedded in the page as
JSON (`<script type="application/json">` through Jinja's `tojson`), never as raw XML in HTML.

Nothing is drawn on the server: the PDF documents carry no diagram, and every page that shows one has a browser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

VIEWER_BUNDLE = (Path(__file__).resolve().parent / "static" / "vendor" / "bpmn-js"
                 / "bpmn-navigated-viewer.production.min.js")
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"

# Every kind of mark, as a caseworker or process owner reads it (the legend, the badges, the click panel).
MARK_LABELS = {
    "current": "当前环节", "done": "已办结", "taken": "已走过的连线",
    "error": "有错误", "warning": "有警告", "added": "新增", "changed": "有改动", "removed": "已删除",
}
NO_SHAPES = "文件中没有图形信息（BPMN DI），无法绘制流程图"

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


class DiagramError(ValueError):
    """The BPMN text cannot be shown (not XML, or not safe to parse); the message is for the page, in Chinese."""


@functools.lru_cache(maxsize=32)
def drawn_ids(bpmn_xml: str) -> frozenset[str]:
    """The ids of the elements that the file's first diagram places (a `BPMNShape` or `BPMNEdge`): what the viewer
    can draw and mark. Cached per text (a page shows the same few versions again and again).
    Raises DiagramError if the text is not XML or carries a DOCTYPE."""
    # The declaration is dropped so the text is read as the str it already is, whatever encoding it names.
    try:
        root = etree.fromstring(_XML_DECLARATION.sub("", bpmn_xml, count=1), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DiagramError(f"BPMN 文件不是有效的 XML，无法绘制流程图：{exc}") from exc
    # No entity is ever expanded from outside (resolve_entities=False), but a DTD has no business in a BPMN file.
    if root.getroottree().docinfo.doctype:
        raise DiagramError("BPMN 文件含有 DOCTYPE 声明，出于安全考虑不予绘制")
    # Only the first diagram: further diagrams of a file show the inside of collapsed subprocesses.
    plane = root.find(f"{{{BPMNDI_NS}}}BPMNDiagram/{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return frozenset()
    return frozenset(str(node.get("bpmnElement")) for node in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape",
                                                                          f"{{{BPMNDI_NS}}}BPMNEdge")
                     if node.get("bpmnElement"))


@dataclass(frozen=True)
class Diagram:
    """One diagram for the viewer: the BPMN text, its marks (only on elements it draws) and their hover notes, the
    elements to bring into view first, and the legend."""

    xml: str
    title: str
    marks: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    focus: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (kind, label); kind "" is an unmarked element
    unmarked: str = ""  # what the click panel calls an element without a mark ("未到达" on a case page)

    def payload(self) -> dict[str, Any]:
        """What the page embeds for static/diagram.js (through `tojson`)."""
        return {"xml": self.xml, "title": self.title, "marks": self.marks, "notes": self.notes,
                "focus": self.focus, "labels": MARK_LABELS, "unmarked": self.unmarked}


def diagram_for(bpmn_xml: str, title: str, *, marks: Mapping[str, str] | None = None,
                notes: Mapping[str, str] | None = None, focus: Collection[str] = (),
                legend: Collection[str] = (), unmarked: str = "") -> tuple[Diagram | None, str]:
    """The diagram to show, or None and why it cannot be shown (in Chinese). Marks and focus on elements the file
    does not draw are dropped; an unknown mark kind is shown as an error rather than dropped."""
    try:
        drawn = drawn_ids(bpmn_xml)
    except DiagramError as exc:
        return None, str(exc)
    if not drawn:
        return None, NO_SHAPES
    kept = {key: (kind if kind in MARK_LABELS else "error") for key, kind in (marks or {}).items() if key in drawn}
    labels = [(kind, MARK_LABELS[kind]) for kind in legend if kind in MARK_LABELS]
    if unmarked:
        labels.append(("", unmarked))
    return Diagram(xml=bpmn_xml, title=title, marks=kept,
                   notes={key: text for key, text in (notes or {}).items() if key in kept},
                   focus=[key for key in focus if key in drawn], legend=labels, unmarked=unmarked), ""


def case_marks(current: Collection[str], done: Collection[str], done_flows: Collection[str]) -> dict[str, str]:
    """Where a case stands as marks: completed elements, the flows taken, and the current steps (current wins over
    completed for a step the case is at again, in a loop)."""
    return {key: "done" for key in done} | {key: "taken" for key in done_flows} | {key: "current" for key in current}


def viewer_installed() -> bool:
    """Whether `npm ci --prefix tools/bpmnio` has copied bpmn-js's viewer into the static folder."""
    return VIEWER_BUNDLE.is_file()
