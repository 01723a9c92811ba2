"""`beian demo`: one complete filing on the virtual clock, from application to receipt, then three years of its
life: a change report, the renewal reminder, the renewal and the new period.

It drives the same service layer as every other command, so what it prints is what a caseworker would see step by
step. The data is the published example application, clearly marked as demo data in the institution's name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from workflows import clock
from workflows.service import Beian

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "application.json"  # the repository's example


# The demo's first moment: the application arrives (every later step is later).
DEMO_STARTS = datetime.fromisoformat("2026-09-24T10:00:00+08:00")


def fresh_demo_database(path: Path) -> str:
    """The URL of a new, empty SQLite file at `path` for the demo. An earlier demo's database there is replaced; any
    other file is left alone and refused: the demo never writes over a database it did not make."""
    from tasks.errors import BeianError
    from workflows.database_clock import read_marker

    url = f"sqlite:///{path.resolve()}"
    if path.exists():
        app = Beian(url)
        try:
            practice = read_marker(app).practice
        except Exception:  # noqa: BLE001 — not a database we can read: certainly not ours to replace
            practice = False
        finally:
            app.close()
        if not practice:
            raise BeianError(f"{path} 已存在，且不是练习数据库，beian demo 不会覆盖它；请用 --out 换一个目录")
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return url


def _at(text: str) -> clock.VirtualClock:
    return clock.VirtualClock(datetime.fromisoformat(text))


def run_demo(app: Beian, say: Callable[[str], None] = print, out_dir: Path | None = None) -> dict[str, Any]:
    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    application["institution"]["name"] = "【演示数据】" + application["institution"]["name"]

    def step(when: str, what: str, action: Callable[[], Any]) -> Any:
        with clock.using_clock(_at(when)):
            result = action()
        say(f"[{when[:16].replace('T', ' ')}] {what}")
        return result

    def complete(when: str, bpmn_id: str, data: dict[str, Any]) -> None:
        with clock.using_clock(_at(when)):
            open_task = next(t for t in app.cases.tasks() if t["bpmn_id"] == bpmn_id and t["case"] in cases)
        step(when, f"办结“{open_task['name']}”：{json.dumps(data, ensure_ascii=False)}",
             lambda: app.cases.complete(open_task["id"], data, actor="演示-办事员"))

    case = step(DEMO_STARTS.isoformat(), "提交备案申请（示例材料）",
                lambda: app.cases.apply(application, actor="演示-申请机构"))["case"]
    cases = {case}
    with clock.using_clock(_at("2026-09-24T10:00:00+08:00")):
        first = app.cases.tasks(case)[0]
    say(f"    案件 {case}：待办“{first['name']}”，法定期限 {first['due']}")
    complete("2026-09-28T10:00:00+08:00", "acceptance", {"decision": "accept"})
    complete("2026-10-09T10:00:00+08:00", "expert_review", {"result": "pass", "opinion": "评价能力符合要求"})
    complete("2026-10-10T10:00:00+08:00", "site_inspection", {"result": "pass", "opinion": "场地设备符合要求"})
    if any(t["bpmn_id"] == "higher_review" for t in app.cases.tasks(case)):
        complete("2026-10-12T09:00:00+08:00", "higher_review", {"result": "pass", "opinion": "同意"})
    step("2026-10-17T00:00:01+08:00", "公示期届满，运行定时扫描", app.operations.sweep)
    with clock.using_clock(_at("2026-10-17T08:00:00+08:00")):
        shown = app.records.show(case)
    say(f"    状态：{shown['status_label']}；备案编号：{shown['filing_number']}；"
        f"有效期 {shown['valid_from']} 至 {shown['valid_until']}")
    number = shown["filing_number"]

    def show(when: str) -> dict[str, Any]:
        with clock.using_clock(_at(when)):
            current = app.records.show(number)
        cases.update(c["case"] for c in current["cases"])
        say(f"    备案状态：{current['status_label']}（{current['status_reason']}）")
        return current

    moved = {"changes": [{"field": "address", "after": "【演示】成都市新址路 8 号"}]}
    step("2027-03-01T10:00:00+08:00", "机构报告地址变更",
         lambda: app.cases.send("change_report", number, moved, actor="演示-申请机构"))
    show("2027-03-01T10:00:00+08:00")
    complete("2027-03-02T10:00:00+08:00", "change_review", {"result": "pass", "opinion": "同意变更"})
    step(f"{shown['valid_until'][:4]}-07-16T00:00:01+08:00", "续期申请期开始，运行定时扫描（发出续期提醒）",
         app.operations.sweep)
    show(f"{shown['valid_until'][:4]}-07-16T08:00:00+08:00")
    step(f"{shown['valid_until'][:4]}-08-03T10:00:00+08:00", "机构提出续期申请",
         lambda: app.cases.send("renewal_application", number, {"summary": "申请续期"}, actor="演示-申请机构"))
    show(f"{shown['valid_until'][:4]}-08-03T10:00:00+08:00")
    complete(f"{shown['valid_until'][:4]}-08-20T10:00:00+08:00", "renewal_assessment",
             {"result": "pass", "opinion": "有效期内评价工作规范"})
    shown = show(f"{shown['valid_until'][:4]}-08-20T10:00:00+08:00")
    say(f"    新的有效期：{shown['valid_from']} 至 {shown['valid_until']}（与上一期连续，无间断、无重叠）")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for document in shown["documents"]:
            path = out_dir / f"{document['case']}-{document['kind']}.html"
            path.write_text(app.records.document(document["id"])["html"], encoding="utf-8")
            say(f"    文书：{document['title']} → {path}")
    return shown


# --- a fresh database for `beian up`: a first administrator, demo caseworkers, demo applications ------------------

DEMO_PASSWORD = "demo-password-1"
# username → (display name, roles, authority): one caseworker per lane of Chengdu (510100), the provincial reviewer,
# and a provincial process owner who maintains the diagrams (the web app's 流程管理 pages).
DEMO_PEOPLE: dict[str, tuple[str, tuple[str, ...], str]] = {
    "demo-intake": ("【演示】受理人员", ("intake",), "510100"),
    "demo-expert": ("【演示】专家评估协调员", ("expert",), "510100"),
    "demo-inspection": ("【演示】现场考察组", ("inspection",), "510100"),
    "demo-publicity": ("【演示】公示人员", ("publicity",), "510100"),
    "demo-supervision": ("【演示】监管人员", ("supervision",), "510100"),
    "demo-reviewer": ("【演示】省级复核人员", ("reviewer",), "510000"),
    "demo-process-owner": ("【演示】流程管理员", ("process_owner",), "510000"),
}


def seed_empty_database(app: Beian) -> dict[str, Any] | None:
    """On a database without any account: the first administrator (a random password, shown once), the demo
    caseworkers (password `DEMO_PASSWORD`, names marked 【演示】) and two demo applications received now, so a
    newcomer can click through a whole filing. None when the database already has accounts."""
    import secrets

    from workflows.users import add_user, list_users

    if list_users(app):
        return None
    password = secrets.token_urlsafe(12)
    add_user(app, "admin", "系统管理员", password, ["supervision"], "510000", is_admin=True, actor="beian up")
    for username, (name, roles, region) in DEMO_PEOPLE.items():
        add_user(app, username, name, DEMO_PASSWORD, roles, region, actor="beian up")
    application = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    cases = []
    for suffix in ("", "（第二家）"):
        demo = json.loads(json.dumps(application))
        demo["institution"]["name"] = "【演示数据】" + application["institution"]["name"] + suffix
        cases.append(app.cases.apply(demo, actor="演示-申请人")["case"])
    return {"admin_password": password, "demo_users": list(DEMO_PEOPLE), "demo_password": DEMO_PASSWORD,
            "cases": cases}
