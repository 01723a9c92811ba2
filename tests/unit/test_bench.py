"""`beian bench` on tiny sizes: every figure is there and the claims behind the figures hold.

Timings are never asserted (they depend on the machine); what is asserted is behaviour: the persisted and the bare
step reach the same place, the due query finds exactly the M due cases among N and its plan reads the due_at index
(so the work does not grow with N), the sweep fires each of them once, and every queued delivery arrives once.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.entrypoints.bench import DUE_INDEX, main
from adapters.entrypoints.bench.worklist import measure_worklist

SIZES = (200, 2000)
DUE = 5
STEPS = 5
DELIVERIES = 20


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses malformed options this way
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def run(bench_dir: Path) -> tuple[int, dict[str, Any], str]:
    code, out, err = _run(["--sizes", ",".join(map(str, SIZES)), "--due", str(DUE), "--steps", str(STEPS),
                           "--deliveries", str(DELIVERIES), "--db", str(bench_dir)])
    return code, json.loads(out), err


@pytest.fixture(scope="module")
def figures(run: tuple[int, dict[str, Any], str]) -> dict[str, Any]:
    return run[1]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_every_check_passes_and_the_exit_code_says_so(run: tuple[int, dict[str, Any], str]) -> None:
    code, figures, err = run
    assert figures["checks"] == {"step_same_outcome": True, "due_found_equals_m": True, "all_due_fired": True,
                                 "due_query_uses_index": True, "all_delivered": True,
                                 "expressions_agree_with_python": True}
    assert figures["ok"] is True
    assert code == 0, err
    assert "全部检查通过" in err


def test_machine_facts(figures: dict[str, Any]) -> None:
    machine = figures["machine"]
    assert _positive(machine["cpu_count"])
    for key in ("python", "sqlite", "spiffworkflow", "sqlalchemy", "platform"):
        assert machine[key], key


def test_step_figures_compare_the_same_step(figures: dict[str, Any]) -> None:
    step = figures["step"]
    assert step["repetitions"] == STEPS
    for key in ("persisted_ms", "bare_ms"):
        assert all(_positive(step[key][stat]) for stat in ("median", "p90", "min", "max")), key
    assert _positive(step["ratio"]) and _positive(step["ratio_p90"])
    assert _positive(step["load_state_ms"]) and _positive(step["dump_state_ms"]) and _positive(step["state_bytes"])
    # Both runs end at the expert review, and the bare run called the one service the persisted step ran.
    assert step["open_after"] == step["bare_open_after"] == ["expert_review"]
    assert step["status_after"] == ["under_review"]
    assert step["bare_services_called"] == ["set_status"]


def test_due_query_finds_exactly_the_due_cases_through_the_index(figures: dict[str, Any]) -> None:
    sweep = figures["sweep"]["sqlite"]
    assert [level["n"] for level in sweep["sizes"]] == list(SIZES)
    for level in sweep["sizes"]:
        assert level["found"] == DUE, level
        assert any(DUE_INDEX in line for line in level["plan"]), level["plan"]
        assert level["uses_due_index"] is True
        assert _positive(level["find_ms"]["median"]) and _positive(level["find_ms"]["p90"])


def test_sweep_fires_each_due_case_once(figures: dict[str, Any]) -> None:
    for level in figures["sweep"]["sqlite"]["sizes"]:
        assert (level["swept"], level["failed"], level["skipped"], level["left_due"]) == (DUE, 0, 0, 0), level
        assert _positive(level["sweep_ms_per_case"])


def test_every_delivery_arrives_once(figures: dict[str, Any]) -> None:
    delivery = figures["delivery"]
    assert delivery["messages"] == delivery["delivered"] == delivery["sandbox_received"] == DELIVERIES
    assert delivery["statuses"] == {"delivered": DELIVERIES}
    assert delivery["all_delivered"] is True
    assert _positive(delivery["per_second"])


def test_the_databases_are_kept_in_the_given_directory_and_never_reused(bench_dir: Path,
                                                                       figures: dict[str, Any]) -> None:
    assert {p.name for p in bench_dir.glob("bench-*.sqlite3")} == {
        "bench-step.sqlite3", "bench-sweep.sqlite3", "bench-delivery.sqlite3"}
    code, out, err = _run(["--sizes", "200", "--due", "5", "--db", str(bench_dir)])
    assert code == 2 and out == ""
    assert "已有基准数据库" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--sizes", "1000,abc"], "不是以逗号分隔的整数"),
    (["--sizes", "100,120", "--due", "50"], "相差不足到期数"),
    (["--steps", "0"], "--steps 至少为 1"),
])
def test_bad_options_are_refused_before_any_work(argv: list[str], message: str) -> None:
    code, out, err = _run(argv)
    assert code == 2 and out == ""
    assert message in err


def test_expression_figures_compare_the_same_sources(figures: dict[str, Any]) -> None:
    expressions = figures["expressions"]
    assert expressions["same_results"] is True and expressions["repetitions"] == STEPS * 25
    for kind in ("condition", "parameter", "conditional", "script"):
        assert _positive(expressions[kind]["bounded_us"]) and _positive(expressions[kind]["python_us"]), kind


def test_the_long_parts_report_how_far_they_are(tmp_path: Path) -> None:
    """The bar `beian bench` draws on a terminal follows these reports: counts that only grow, ending at the total."""
    from adapters.entrypoints.bench import run_bench

    calls: list[tuple[int, int, str]] = []
    run_bench(sizes=[30], due=2, steps=3, deliveries=1, directory=tmp_path,
              on_progress=lambda done, total, what: calls.append((done, total, what)))
    labels = list(dict.fromkeys(what for _, _, what in calls))
    assert labels == ["单步：生成实例", "单步：持久化的步骤", "sqlite：生成 N=30 的实例"]
    for label in labels:
        mine = [(done, total) for done, total, what in calls if what == label]
        assert [done for done, _ in mine] == sorted(done for done, _ in mine) and mine[-1][0] == mine[-1][1], mine
    assert [c for c in calls if c[2] == "单步：持久化的步骤"][-1][:2] == (3 + 3, 3 + 3)  # warm-up steps included


def test_the_worklist_measure_reads_a_full_first_page_at_every_size(tmp_path: Path) -> None:
    said: list[str] = []
    result = measure_worklist([30, 3], lambda n: f"sqlite:///{tmp_path / f'worklist-{n}.sqlite3'}", said.append,
                              repetitions=2)
    assert [(level["n"], level["first_page_rows"]) for level in result["sizes"]] == [(3, 3), (30, 25)]
    assert result["goal"] == 1.5 and result["worklist_ratio"] > 0 and isinstance(result["within_goal"], bool)
    assert any("待办列表首页" in line for line in said)
