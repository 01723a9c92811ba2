"""The stuck table as markdown, and the rows of deployments that are paused or failing: what ops read, without a
Prefect server (the server-side journey is tests/prefect/test_ops_watch.py)."""

from __future__ import annotations

import re
import unicodedata
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


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("|").split(" | ")]


def shown_width(table: list[str]) -> int:
    """Roughly how wide the table shows, in half-width character cells: each column as wide as its widest cell (links
    as their text, a wide CJK character as two) plus three cells of padding."""
    def width(cell: str) -> int:
        visible = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)
        return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in visible)

    rows = [cells(row) for row in table if not row.startswith("|---")]
    return sum(max(width(row[column]) for row in rows) + 3 for column in range(len(rows[0])))


# Prefect's artifact page gives a markdown table about 790 px at a 1366 px screen and never wraps its cells (a wider
# table scrolls sideways and hides its last columns). Measured in Chromium: a table of 101 cells by this count showed
# 740 px wide (7.3 px a cell), and the old seven columns, about 125 cells, hid the reason column.
FITS_1366 = 105


def test_a_case_row_is_short_links_its_case_and_says_beijing_time() -> None:
    markdown = stuck_markdown([item()], "共 1 个案件卡住", NOW, 5, "http://ui/artifacts/artifact/x")
    header, _, row = table_lines(markdown)
    assert "开始（北京时间）" in header
    assert "检查时间：2026-12-04 10:00（北京时间）" in markdown
    assert cells(row) == [f"[BA2026-00012]({WEB}/cases/BA2026-00012)", "法定期限超期（[详情 1](http://ui/artifacts/artifact/x)）",
                          "受理（受理员）", "2026-12-01 10:00", "2"]  # 02:00 UTC is 10:00 in Beijing
    details = details_markdown([item()], NOW, WEB)
    assert ("1. **BA2026-00012**（成都锦城|精工，备案申请）——法定期限超期，自 2026-12-01 10:00（北京时间）："
            "“受理”已超过法定期限") in details


def test_the_widest_rows_fit_a_1366_px_screen() -> None:
    rows = [
        item(case_id="BA2026-12345", reason_code="deployment_failing", waiting_on="全国评价机构备案信息库（报送）",
             overdue_working_days=123),
        item(case_id="", reason_code="system_down", waiting_on="全国评价机构备案信息库", cases=("BA2026-1",) * 999),
        item(case_id="", reason_code="deployment_paused", waiting_on="部署 beian-registry-check",
             link="http://ui/deployments/deployment/d"),
    ]
    table = table_lines(stuck_markdown(rows * 4, "共 12 项", NOW, 5, "http://ui/artifacts/artifact/x"))
    assert shown_width(table) <= FITS_1366, shown_width(table)
    assert "| 全国评价机构备案信息… |" in table[2]  # what waits is cut short; the details have it whole
    assert "[beian-registry-check](http://ui/deployments/deployment/d)" in table[4]


def test_a_system_row_counts_its_cases_and_the_details_name_them_all() -> None:
    cases = tuple(f"BA2026-0001{n}" for n in range(5))
    down = item(case_id="", institution="", process="", reason_code="system_down",
                reason_key="system_down:national_registry", waiting_on="全国评价机构备案信息库", cases=cases,
                brief="不可用已 15 分钟，5 个案件等待", link="", overdue_working_days=0)
    row = table_lines(stuck_markdown([down], "共 5 个案件卡住", NOW, 5, None))[2]
    assert cells(row)[:2] == ["5 个案件", "外部系统不可用（详情 1）"]
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
