"""Edits a process owner makes to a BPMN file, written out for the tests: moving shapes without changing anything
else, and taking elements out of a diagram together with their flows, lane references and shapes."""

from __future__ import annotations

import re
from collections.abc import Collection

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def mirrored(xml: str) -> str:
    """The same diagram drawn upside down: only the BPMNDiagram section's y coordinates change, which reverses the
    order in which SpiffWorkflow's parser keeps every gateway's outgoing flows (it sorts them by height)."""
    head, drawing = xml.split("<bpmndi:BPMNDiagram", 1)
    return head + "<bpmndi:BPMNDiagram" + re.sub(r'\by="(-?[\d.]+)"', lambda m: f'y="{5000 - float(m.group(1))}"',
                                                 drawing)


def without(xml: str, ids: Collection[str]) -> str:
    """The diagram without the elements `ids` (flows included: list them too), their lane entries, the incoming and
    outgoing references to the flows, and their shapes."""
    root = etree.fromstring(xml.encode("utf-8"))
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        refers = node.get("id") in ids or node.get("bpmnElement") in ids
        names = node.tag in (f"{{{BPMN}}}flowNodeRef", f"{{{BPMN}}}incoming", f"{{{BPMN}}}outgoing")
        if refers or (names and (node.text or "").strip() in ids):
            node.set("{urn:test}drop", "1")
    for node in root.xpath("//*[@t:drop]", namespaces={"t": "urn:test"}):
        node.getparent().remove(node)
    return etree.tostring(root, encoding="unicode")
