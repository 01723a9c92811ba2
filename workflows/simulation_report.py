"""The figures of a simulation report, compared between versions, and the report as people read it (a Chinese
table side by side, then notes per version). The simulation itself is `workflows/simulation.py`."""

from __future__ import annotations

import unicodedata
from typing import Any

# The engine steps a run counts (workflows/simulation.py), as the report names them: a registered application, a
# task completed, an outside message received, a timer fired by the sweep.
STEP_LABELS: dict[str, str] = {"apply": "申请", "complete": "办结待办", "send": "外部消息", "timer": "定时事件"}

# Figures compared between versions: (key path, Chinese label).
FIGURES: tuple[tuple[str, str], ...] = (
    ("started", "启动案件"),
    ("filed", "出具备案回执"),
    ("filed_by_until", "其中在 --until 之前出具"),
    ("ended_other", "其他结束（不予受理、不予备案等）"),
    ("in_progress", "期末仍在办理"),
    ("stuck", "卡住的案件"),
    ("throughput_per_30_days", "吞吐量（每 30 天出具回执数）"),
    ("time_to_receipt.calendar_days.median", "申请至回执：中位数（日历天）"),
    ("time_to_receipt.calendar_days.p90", "申请至回执：第90百分位（日历天）"),
    ("time_to_receipt.working_days.median", "申请至回执：中位数（工作日）"),
    ("time_to_receipt.working_days.p90", "申请至回执：第90百分位（工作日）"),
    ("breaches.total", "法定期限超期（待办）"),
    ("breaches.escalations", "逾期督办次数"),
)


def figure(result: dict[str, Any], key: str) -> float | None:
    if key == "ended_other":
        return float(sum(result["other_endings"].values()))
    value: Any = result
    for part in key.split("."):
        value = value[part]
    return None if value is None else float(value)


def difference(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for key, _ in FIGURES:
        a, b = figure(base, key), figure(other, key)
        values[key] = None if a is None or b is None else round(b - a, 2)
    return {"base": base["variant"]["label"], "version": other["variant"]["label"], "figures": values}


# --- the Chinese table -------------------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{value:+.2f}" if signed else f"{value:.2f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("+0", "-0") else text


def render(report: dict[str, Any]) -> str:
    """The report as people read it: a header, the figures side by side with the difference, then the notes."""
    versions = report["versions"]
    pattern = "均匀随机" if report["arrival_pattern"] == "uniform" else "等间隔"
    lines = [f"模拟 {report['process']}：{report['cases']} 件合成申请，于 {report['from']} 至 {report['until']} "
             f"的工作日办公时间（{report['office_hours']}）内到达（{pattern}），"
             f"随机种子 {report['seed']}，配置：{report['profile']}",
             f"运行至所有案件结束，最迟 {report['horizon'][:16].replace('T', ' ')}"]
    if report.get("databases"):
        lines.append(f"数据库：{report['databases']}")
    # Each version named in full once, with the engine's speed on it; the table's columns then carry its number and
    # a short heading, so that long file paths do not stretch every row of the table.
    numbered = len(versions) > 1
    marks = [f"[{i + 1}] " if numbered else "" for i in range(len(versions))]
    lines.append("比较的版本（第一个为基准，差值 = 该版本 − [1]）：" if numbered else "模拟的版本：")
    for mark, v in zip(marks, versions, strict=True):
        lines += [f"  {mark}{v['variant']['label']}", f"      {engine_line(v)}"]
    lines.append("")
    header = ["指标"] + [f"{mark}{v['variant']['heading']}" for mark, v in zip(marks, versions, strict=True)]
    header += [f"差值 [{i + 2}]−[1]" for i in range(len(versions) - 1)]
    rows = []
    for key, label in FIGURES:
        row = [label] + [_number(figure(v, key)) for v in versions]
        row += [_number(d["figures"][key], signed=True) for d in report["differences"]]
        rows.append(row)
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for number, row in enumerate([header, *rows]):
        lines.append("  ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    for mark, v in zip(marks, versions, strict=True):
        notes = _notes(v)
        if notes:
            lines += ["", f"{mark}{v['variant']['label']}："] + [f"  {note}" for note in notes]
    return "\n".join(lines)


def engine_line(result: dict[str, Any]) -> str:
    """The engine's speed in one version's run: its steps, by kind, per second of the busiest worker's CPU time."""
    kinds = "、".join(f"{STEP_LABELS[kind]} {n}" for kind, n in result["steps_by_kind"].items())
    return (f"引擎步数 {result['steps']}（{kinds}），每秒 {_number(result['steps_per_second'])} 步"
            f"（CPU 时间，{result['workers']} 个进程中最忙的用 {_number(result['cpu_seconds']['busiest_worker'])} 秒，"
            f"其中引擎 {_number(result['engine_seconds']['cpu'])} 秒；"
            f"按墙钟每秒 {_number(result['steps_per_wall_second'])} 步）；全程用时 {result['seconds']} 秒")


def _notes(result: dict[str, Any]) -> list[str]:
    notes = []
    if result["other_endings"]:
        notes.append("其他结束：" + "，".join(f"{k} {n} 件" for k, n in result["other_endings"].items()))
    for bpmn_id, b in result["breaches"]["by_task"].items():
        notes.append(f"法定期限超期：{b['name']}（{bpmn_id}）办结时已超期 {b['completed_late']} 件，"
                     f"期末未办结且已超期 {b['open_overdue']} 件")
    for reason, n in result["stuck_reasons"].items():
        examples = [r["case"] for r in result["cases"] if r.get("stuck_reason") == reason][:5]
        notes.append(f"卡住 {n} 件：{reason}（如 {'、'.join(examples)}）")
    if result["defaults_used"]:
        notes.append("使用默认值的任务：" + "；".join(f"{d['name']}（{d['task']}）的 {d['setting']} 取自 {d['from']}"
                                             for d in result["defaults_used"]))
    if result["unprofiled_messages"]:
        notes.append("模拟配置未给出的外部消息（按从不到达处理）：" + "、".join(result["unprofiled_messages"]))
    if result["unused_profile_tasks"]:
        notes.append("模拟配置中的任务在此版本中不存在（未使用）：" + "、".join(result["unused_profile_tasks"]))
    if result["messages"]["dropped_wait_over"]:
        notes.append("到达时案件已不再等待的外部消息（未送达）：" + "，".join(
            f"{k} {n} 件" for k, n in result["messages"]["dropped_wait_over"].items()))
    return notes
