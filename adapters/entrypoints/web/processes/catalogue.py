"""What the modeller's properties panel offers to choose from (tools/bpmnio/src/beian-properties.mjs): the roles a
lane may stand for, the task forms at hand, the citation keys, the service operators with their parameters and the
messages the system sends — each with the Chinese name a process owner reads. The page embeds it as JSON; every
choice is checked again on the server when the diagram is checked or deployed (workflows/bpmn_check.py)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from tasks.articles import ARTICLE_KEYS
from tasks.roles import all_roles
from workflows.definitions import MAX_DEADLINE_DAYS, bpmn_dir
from workflows.messages import MESSAGES
from workflows.operators import OPERATORS

FORM_SUFFIX = ".schema.json"
MESSAGE_SUFFIX = ".message.schema.json"


def modeller_catalogue(version_forms: Mapping[str, Any]) -> dict[str, Any]:
    """The choices for a diagram whose deployed version carries `version_forms` (its forms first, then the
    bundled ones in bpmn/forms)."""
    return {
        "roles": [{"key": role.key, "label": role.label} for role in all_roles() if role.key != "system"],
        "system_lane": next(role.label for role in all_roles() if role.key == "system"),
        "forms": _forms(version_forms),
        "articles": [{"key": key, "label": label} for key, label in ARTICLE_KEYS.items()],
        "operators": [{"name": name, "parameters": _parameters(handler)}
                      for name, handler in sorted(OPERATORS.items())],
        "messages": [{"name": name, "label": label} for name, label in MESSAGES.items()],
        "max_deadline_days": MAX_DEADLINE_DAYS,
    }


def _forms(version_forms: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each task form with its title and its schema (what the form editor starts from)."""
    found: dict[str, Any] = {name: schema for name, schema in version_forms.items()
                             if name.endswith(FORM_SUFFIX) and not name.endswith(MESSAGE_SUFFIX)}
    for path in sorted((bpmn_dir() / "forms").glob(f"*{FORM_SUFFIX}")):
        if path.name in found or path.name.endswith(MESSAGE_SUFFIX):
            continue
        try:
            found[path.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # an unreadable form is not offered; the check names it if a task uses it
    forms = [{"file": name, "title": _title(schema, name), "schema": schema} for name, schema in found.items()]
    return sorted(forms, key=lambda form: (form["title"], form["file"]))


def _title(schema: Any, name: str) -> str:
    title = schema.get("title") if isinstance(schema, dict) else None
    return str(title) if isinstance(title, str) and title.strip() else name


def _parameters(handler: Any) -> list[dict[str, Any]]:
    """The parameters an operator takes (the first is the step context), required ones first as the check wants."""
    accepted = list(inspect.signature(handler).parameters.values())[1:]
    return [{"name": p.name, "required": p.default is inspect.Parameter.empty} for p in accepted
            if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
