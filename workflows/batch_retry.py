"""Retrying stuck cases in a batch: all those stuck for one reason, waiting on one outside system, or running one
process (version) — what ops do after fixing a cause that held up many cases at once.

The cases are chosen from the stuck list as it is now (`find_stuck`, the same reasons the table shows), and each
case is retried once, in the order the table lists them, whatever number of rows it has. An outside system that is
down gets its probe first, so that once it answers again its waiting messages go out without their backoff.
`beian retry --reason/--system/--process [--version]` and the `beian-retry-batch` deployment run this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.outside.settings import OUTSIDE_SYSTEMS, Settings
from tasks.errors import InvalidInput
from workflows import clock
from workflows.delivery import down_systems, probe_system
from workflows.stuck import REASON_LABELS, StuckItem, find_stuck

if TYPE_CHECKING:
    from workflows.service import Beian

# Reasons a retry can cure; a deployment that is paused or failing is not a case's to retry.
RETRYABLE_REASONS = ("task_overdue", "timer_late", "instance_error", "delivery_late", "delivery_failed",
                     "reply_overdue", "system_down")


@dataclass(frozen=True)
class Selection:
    """Which stuck cases to retry; the given criteria must all hold."""

    reason: str | None = None  # a reason code ("delivery_failed") or its label ("外部投递失败")
    system: str | None = None  # an outside system key ("national_registry")
    process: str | None = None  # a BPMN process id ("filing_application")
    version: int | None = None  # with `process`: only the cases on this deployed version

    def __post_init__(self) -> None:
        if not (self.reason or self.system or self.process):
            raise InvalidInput("批量重试需要指定卡住原因、外部系统或流程（及版本）中的至少一项")
        if self.version is not None and not self.process:
            raise InvalidInput("指定版本时须同时指定流程")
        if self.reason and self.reason_code not in RETRYABLE_REASONS:
            known = "、".join(f"{code}（{REASON_LABELS[code]}）" for code in RETRYABLE_REASONS)
            raise InvalidInput(f"无法按原因“{self.reason}”批量重试；可用的原因：{known}")
        if self.system and self.system not in OUTSIDE_SYSTEMS:
            raise InvalidInput(f"没有外部系统“{self.system}”；可用的系统：{'、'.join(OUTSIDE_SYSTEMS)}")

    @property
    def reason_code(self) -> str | None:
        if not self.reason:
            return None
        by_label = {label: code for code, label in REASON_LABELS.items()}
        return by_label.get(self.reason, self.reason)

    def describe(self) -> str:
        parts = []
        if self.reason:
            parts.append(f"原因 {REASON_LABELS.get(self.reason_code or '', self.reason)}")
        if self.system:
            parts.append(f"外部系统 {OUTSIDE_SYSTEMS[self.system]}")
        if self.process:
            parts.append(f"流程 {self.process}" + (f" 版本 {self.version}" if self.version is not None else ""))
        return "，".join(parts)

    def matches(self, item: StuckItem) -> bool:
        if self.reason_code and item.reason_code != self.reason_code:
            return False
        if self.system and not _waits_on(item, self.system):
            return False
        if not self.process:
            return True
        return item.process_id == self.process and (self.version is None or item.version == self.version)

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason_code, "system": self.system, "process": self.process, "version": self.version}


def _waits_on(item: StuckItem, system: str) -> bool:
    if item.reason_code == "system_down":
        return item.reason_key == f"system_down:{system}"
    return item.reason_code.startswith("delivery_") and item.waiting_on == OUTSIDE_SYSTEMS[system]


def cases_to_retry(app: Beian, settings: Settings, selection: Selection) -> list[str]:
    """The cases the selection picks from the stuck list now, each once, in the table's order."""
    with app.reading() as uow:
        items = find_stuck(uow, settings, clock.now())
    chosen: dict[str, None] = {}
    for item in items:
        if item.reason_code in RETRYABLE_REASONS and selection.matches(item):
            # A system's row stands for its waiting cases; their process is each case's own.
            cases = item.cases if item.reason_code == "system_down" else (item.case_id,)
            if item.reason_code == "system_down" and selection.process:
                continue  # the row has no process; the cases' own delivery rows are not listed while it is down
            chosen.update(dict.fromkeys(cases))
    return list(chosen)


def probe_first(app: Beian, settings: Settings, selection: Selection) -> list[str]:
    """Probe the selected system (or every one) if it is taken for down; returns the systems that answered."""
    with app.reading() as uow:
        down = sorted(down_systems(uow))
    answered = []
    for system in down:
        if selection.system and system != selection.system:
            continue
        if probe_system(app, settings, system).answered:
            answered.append(system)
    return answered


def retry_batch(app: Beian, settings: Settings, selection: Selection, actor: str = "ops",
                retry: Callable[[str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Retry every selected case once (`beian retry --reason/--system/--process`). `retry` retries one case (the
    Prefect flow passes one that makes a task run of it); by default `Operations.retry`."""
    answered = probe_first(app, settings, selection)
    cases = cases_to_retry(app, settings, selection)
    one = retry or (lambda case: app.operations.retry(case, actor=actor, settings=settings))
    results = list(_each(cases, one))
    return {"selection": selection.to_dict(), "described": selection.describe(), "cases": cases,
            "systems_back": answered, "results": results,
            "ok": all(result.get("ok") for result in results)}


def _each(cases: list[str], retry: Callable[[str], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for case in cases:
        try:
            yield retry(case)
        except Exception as exc:  # one case's trouble is its own: the others are still retried
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            yield {"case": case, "ok": False, "error": message}
