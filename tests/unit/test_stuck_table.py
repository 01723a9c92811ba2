"""The stuck table as markdown, and the rows of deployments that are paused or failing: what ops read, without a
Prefect server (the server-side journey is tests/prefect/test_ops_watch.py)."""

from __future__ import annotations

from datetime import datetime

from workflows.ops_watch import DeploymentHealth, Watched, deployment_problems, deployments_markdown
from workflows.stuck import StuckItem
from workflows.stuck_table import details_markdown, stuck_markdown

NOW = datetime.fromisoformat("2026-12-04T10:00:00+08:00")
WEB = "https://beian.example.cn"
SWEEP = Watched("sweep-timers", "beian-sweep", "定时事件不会触发")


def item(**changes: object) -> StuckItem:
    fields: dict[str, object] = dict(
        case_id="BA2026-00012", institution="成都锦城|精工", process="备案申请", region="510100",
        reason_code="task_overdue", reason_key="task_overdue:t1", waiting_on="受理（受理员）",
        since=datetime.fromisoformat("2026-12-01T02:00:00+00:00"), overdue_working_days=2,
        reason="“受理”已超过法定期限（2026年11月30日到期），已超期 2 个工作日", link=f"{WEB}/cases/BA2026-00012",
        brief="“受理”已超期 2 个工作日")
    fields.update(changes)
    return StuckItem(**fields)  # type: ignore[arg-type]


def table_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def test_a_case_row_is_short_links_its_case_and_says_beijing_time() -> None:
    markdown = stuck_markdown([item()], "共 1 个案件卡住", NOW, 5, "http://ui/artifacts/artifact/x", WEB)
    header, _, row = table_lines(markdown)
    assert "自何时（北京时间）" in header
    assert "检查时间：2026-12-04 10:00（北京时间）" in markdown
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells[0] == f"[BA2026-00012]({WEB}/cases/BA2026-00012)"
    assert cells[1] == "成都锦城\\|精工"  # a pipe in a name does not end the cell
    assert cells[4] == "2026-12-01 10:00"  # 02:00 UTC is 10:00 in Beijing
    assert cells[6] == "法定期限超期：“受理”已超期 2 个工作日（[详情 1](http://ui/artifacts/artifact/x)）"
    details = details_markdown([item()], NOW, WEB)
    assert "1. **BA2026-00012**（法定期限超期，自 2026-12-01 10:00（北京时间））：“受理”已超过法定期限" in details


def test_a_system_row_names_its_first_cases_and_the_details_all_of_them() -> None:
    cases = tuple(f"BA2026-0001{n}" for n in range(5))
    down = item(case_id="", institution="", process="", reason_code="system_down",
                reason_key="system_down:national_registry", waiting_on="全国评价机构备案信息库", cases=cases,
                brief="不可用已 15 分钟，5 个案件等待", link="", overdue_working_days=0)
    row = table_lines(stuck_markdown([down], "共 5 个案件卡住", NOW, 5, None, WEB))[2]
    first = row.strip("|").split(" | ")[0].strip()
    assert first == "、".join(f"[{case}]({WEB}/cases/{case})" for case in cases[:3]) + " 等 5 个"
    assert "外部系统不可用：不可用已 15 分钟，5 个案件等待（详情 1）" in row
    assert all(f"[{case}](" in details_markdown([down], NOW, WEB) for case in cases)


def test_a_paused_or_failing_deployment_is_a_row_and_a_line_of_its_artifact() -> None:
    paused = DeploymentHealth(SWEEP, found=True, paused=True, since=NOW, link="http://ui/deployments/deployment/d")
    failing = DeploymentHealth(Watched("deliver-outbox", "beian-deliver", "通知不会发出"), found=True,
                               failing_runs=3, last_run="外部投递 12-04 09:59：Failed", last_message="2 个案件…",
                               since=NOW)
    healthy = DeploymentHealth(Watched("watch-stuck", "beian-stuck-watch", "…"), found=True, failing_runs=1)
    missing = DeploymentHealth(Watched("check-registrations", "beian-registry-check", "…"), found=False)
    items = deployment_problems([paused, failing, healthy, missing], 3, NOW)
    assert [i.reason_key for i in items] == ["deployment_paused:beian-sweep", "deployment_failing:beian-deliver"]
    assert items[0].link == "http://ui/deployments/deployment/d" and "定时事件不会触发" in items[0].brief
    assert "最近 3 次运行均失败" in items[1].reason and "2 个案件" in items[1].reason
    lines = deployments_markdown([paused, failing, healthy, missing], 3, NOW).splitlines()
    assert "[beian-sweep](http://ui/deployments/deployment/d) | **已暂停**" in lines[-4]
    assert "**最近 3 次运行均失败**" in lines[-3] and "| 正常 |" in lines[-2] and "未注册" in lines[-1]
