"""What the stuck watch adds in Prefect: the background deployments' health, the artifacts, the events.

* **Deployments.** Prefect shows a deployment whose schedule is paused as "Ready", and one whose runs all fail only
  as a row of red runs. `deployment_problems` reads each background deployment (sweep, deliver, stuck watch, registry
  check) and turns a paused schedule, or last `BEIAN_DEPLOYMENT_FAILED_RUNS` finished runs all failed, into a stuck
  row (`deployment_paused`, `deployment_failing`); `deployments_markdown` is the artifact `beian-deployments`, one
  line per deployment, healthy or not.
* **Artifacts.** `publish` writes the stuck table (`beian-stuck-cases`, a markdown table: short cells, case numbers
  as links) and its details (`beian-stuck-details`, each row's whole reason), a new version of each per check, and
  after a sweep, delivery or retry that cleared a row.
* **Events.** `beian.case.stuck` once per case that became stuck for a new reason (its payload lists them), and
  `beian.case.unstuck` once per reason that went away. A row of no single case names its subject in the resource:
  `beian.system.<key>` for an outside system down, `beian.deployment.<name>` for a deployment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prefect import get_client
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_UI_URL
from prefect.utilities.urls import url_for

from adapters.outside.settings import OUTSIDE_SYSTEMS, Settings
from workflows.stuck import REASON_LABELS, StuckCheck, StuckItem, beijing_text
from workflows.stuck_table import details_markdown, stuck_markdown

STUCK_ARTIFACT_KEY = "beian-stuck-cases"
DETAILS_ARTIFACT_KEY = "beian-stuck-details"
DEPLOYMENTS_ARTIFACT_KEY = "beian-deployments"
STUCK_EVENT = "beian.case.stuck"
UNSTUCK_EVENT = "beian.case.unstuck"

_FINISHED = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED]
_BAD = (StateType.FAILED, StateType.CRASHED)


@dataclass(frozen=True)
class Watched:
    """A background deployment the watch keeps an eye on, and what stops when it does not run."""

    flow: str
    name: str
    stops: str  # e.g. "定时事件不会触发"


@dataclass(frozen=True)
class DeploymentHealth:
    watched: Watched
    found: bool
    paused: bool = False
    failing_runs: int = 0  # how many of the last finished runs failed in a row (0: the last one went through)
    last_run: str = ""  # the last finished run: its name, state and time
    last_message: str = ""
    since: datetime | None = None  # when the problem began (paused: last update of the deployment)
    link: str = ""

    def problem(self, failed_runs: int) -> str | None:
        if self.paused:
            return "deployment_paused"
        if self.failing_runs >= failed_runs:
            return "deployment_failing"
        return None


def deployment_health(watched: list[Watched], failed_runs: int) -> list[DeploymentHealth]:
    """Each watched deployment as the Prefect server sees it now."""
    result = []
    with get_client(sync_client=True) as client:
        for item in watched:
            try:
                deployment = client.read_deployment_by_name(f"{item.flow}/{item.name}")
            except ObjectNotFound:
                result.append(DeploymentHealth(item, found=False))
                continue
            schedules = deployment.schedules or []
            paused = bool(deployment.paused) or (bool(schedules) and not any(s.active for s in schedules))
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_FINISHED))),
                sort=FlowRunSort.END_TIME_DESC, limit=failed_runs)
            failing = 0
            for run in runs:
                if run.state is None or run.state.type not in _BAD:
                    break
                failing += 1
            last = runs[0] if runs else None
            last_text = ""
            if last is not None and last.state is not None:
                ended = last.end_time or last.expected_start_time
                last_text = f"{last.name}：{last.state.name}" + (f"（{beijing_text(ended)}）" if ended else "")
            oldest_failed = runs[failing - 1] if failing else None
            since = (deployment.updated if paused else
                     (oldest_failed.start_time or oldest_failed.expected_start_time) if oldest_failed else None)
            result.append(DeploymentHealth(
                item, found=True, paused=paused, failing_runs=failing, last_run=last_text,
                last_message=(last.state.message or "") if last is not None and last.state is not None else "",
                since=since, link=url_for("deployment", obj_id=deployment.id) or ""))
    return result


def deployment_problems(health: list[DeploymentHealth], failed_runs: int, now: datetime) -> list[StuckItem]:
    """The stuck rows of the deployments that are paused or failing (no working days overdue: no deadline)."""
    items = []
    for entry in health:
        code = entry.problem(failed_runs)
        if code is None:
            continue
        since = entry.since or now
        name = entry.watched.name
        if code == "deployment_paused":
            brief = f"计划已暂停，{entry.watched.stops}"
            reason = (f"部署 {name} 的计划已暂停（自 {beijing_text(since)} 起），{entry.watched.stops}。"
                      "在 Prefect 的“部署”页面打开该部署，把右上角的开关拨回启用（Resume）。")
        else:
            brief = f"最近 {entry.failing_runs} 次运行均失败"
            reason = (f"部署 {name} 最近 {entry.failing_runs} 次运行均失败，{entry.watched.stops}。"
                      f"最近一次：{entry.last_run}{('：' + entry.last_message) if entry.last_message else ''}。"
                      "打开失败的运行查看日志（以案件编号命名的失败任务说明原因）。")
        items.append(StuckItem(
            case_id="", institution="", process="", region="", reason_code=code,  # type: ignore[arg-type]
            reason_key=f"{code}:{name}", waiting_on=f"部署 {name}", since=since,
            overdue_working_days=0, reason=reason, link=entry.link, brief=brief))
    return items


def deployments_markdown(health: list[DeploymentHealth], failed_runs: int, now: datetime) -> str:
    lines = [f"### 后台部署状态（检查时间：{beijing_text(now)}）", "",
             "由卡住案件检查每次运行时更新：本表久未更新，说明卡住案件检查本身没有运行。", "",
             "| 部署 | 状态 | 最近一次运行 |", "|---|---|---|"]
    for entry in health:
        name = f"[{entry.watched.name}]({entry.link})" if entry.link else entry.watched.name
        if not entry.found:
            state = "未注册"
        elif entry.problem(failed_runs) == "deployment_paused":
            state = f"**已暂停**：{entry.watched.stops}"
        elif entry.problem(failed_runs) == "deployment_failing":
            state = f"**最近 {entry.failing_runs} 次运行均失败**"
        else:
            state = "正常"
        lines.append(f"| {name} | {state} | {entry.last_run or '—'} |")
    return "\n".join(lines)


def publish_deployments(health: list[DeploymentHealth], failed_runs: int, now: datetime) -> None:
    create_markdown_artifact(key=DEPLOYMENTS_ARTIFACT_KEY, markdown=deployments_markdown(health, failed_runs, now),
                             description="beian 后台部署：计划是否暂停，最近的运行是否失败")


def publish(check: StuckCheck, settings: Settings, interval_minutes: int) -> None:
    """The stuck table and its details as new versions of their artifacts, then the events of what changed."""
    details_id = create_markdown_artifact(
        key=DETAILS_ARTIFACT_KEY, markdown=details_markdown(check.items, check.now, settings.web_url),
        description=f"卡住原因详情：{check.summary}")
    ui = PREFECT_UI_URL.value()
    details_url = f"{ui.rstrip('/')}/artifacts/artifact/{details_id}" if ui else None
    create_markdown_artifact(
        key=STUCK_ARTIFACT_KEY,
        markdown=stuck_markdown(check.items, check.summary, check.now, interval_minutes, details_url,
                                settings.web_url),
        description=f"{check.summary}（{beijing_text(check.now)}）")
    announce(check)


def announce(check: StuckCheck) -> None:
    """One `beian.case.stuck` per subject with a reason not seen at the last check (its payload lists the new
    reasons), one `beian.case.unstuck` per reason that went away. Each payload carries `text`, the sentence the ops
    notification sends: who, what, and for an unstuck reason what still holds the subject up."""
    new_by_subject: dict[str, list[StuckItem]] = defaultdict(list)
    for item in check.newly:
        new_by_subject[_subject_id(item.case_id, item.reason_key)].append(item)
    for subject, reasons in new_by_subject.items():
        first = reasons[0]
        name = first.case_id or first.waiting_on
        emit_event(event=STUCK_EVENT,
                   resource=_resource(subject, name, reasons=",".join(sorted({r.reason_code for r in reasons}))),
                   payload={"case": first.case_id, "subject": name, "text": stuck_text(reasons),
                            "institution": first.institution, "process": first.process,
                            "region": first.region, "link": first.link, "cases": list(first.cases),
                            "reasons": [r.to_dict() for r in reasons]})
    still = {item.key for item in check.items}
    for key in check.cleared:
        if key in still:
            continue
        case_id, _, reason_key = key.partition("/")
        code = reason_key.partition(":")[0]
        subject = _subject_id(case_id, reason_key)
        remaining = [item for item in check.items if _subject_id(item.case_id, item.reason_key) == subject]
        emit_event(event=UNSTUCK_EVENT,
                   resource=_resource(subject, case_id or reason_key.partition(":")[2],
                                      reason=code, **{"reason-key": reason_key}),
                   payload={"case": case_id, "subject": _subject_words(case_id, reason_key),
                            "text": unstuck_text(case_id, reason_key, remaining),
                            "cleared": [reason_key], "reason_code": code,
                            "remaining": sorted({item.reason_code for item in remaining}),
                            "at": check.now.astimezone(UTC).isoformat()})


def stuck_text(reasons: list[StuckItem]) -> str:
    """"案件 BA2026-00012 卡住：法定期限超期（…）", or a system's or deployment's row in the same words."""
    first = reasons[0]
    what = "、".join(item.reason_label + (f"（{item.brief}）" if item.brief else "") for item in reasons)
    return f"{_subject_words(first.case_id, first.reason_key)} 卡住：{what}"


def unstuck_text(case_id: str, reason_key: str, remaining: list[StuckItem]) -> str:
    """One reason gone: said as gone, with what still holds the subject up (if anything) — never "no longer
    stuck" while another reason remains."""
    label = REASON_LABELS.get(reason_key.partition(":")[0], reason_key)
    text = f"{_subject_words(case_id, reason_key)} 的“{label}”已解除"
    if remaining:
        return text + "，仍卡住：" + "、".join(dict.fromkeys(item.reason_label for item in remaining))
    return text + "，已没有卡住原因"


def _subject_words(case_id: str, reason_key: str) -> str:
    if case_id:
        return f"案件 {case_id}"
    code, _, subject = reason_key.partition(":")
    return f"外部系统 {OUTSIDE_SYSTEMS.get(subject, subject)}" if code == "system_down" else f"部署 {subject}"


def _subject_id(case_id: str, reason_key: str) -> str:
    if case_id:
        return f"beian.case.{case_id}"
    code, _, subject = reason_key.partition(":")
    return f"beian.system.{subject}" if code == "system_down" else f"beian.deployment.{subject}"


def _resource(resource_id: str, name: str, **labels: str) -> dict[str, Any]:
    resource = {"prefect.resource.id": resource_id, "prefect.resource.name": name}
    resource.update({f"beian.{key}": value for key, value in labels.items()})
    return resource
