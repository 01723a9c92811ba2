"""`beian bench --quick`: every figure is there with its goal and spread, the claims behind the figures hold, and a
missed goal gives a non-zero exit. No test asserts a time: the values depend on the machine.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.entrypoints.bench import DUE_INDEX, main
from adapters.entrypoints.bench.goals import GOALS
from adapters.entrypoints.bench.worklist import measure_worklist
from tests.conftest import postgres_admin_url

RATIOS = ("step_ratio", "worklist_ratio", "sweep_flat_ratio", "sweep_vs_steps_ratio")


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
    # Goals no machine can miss (and one none can meet is the next test's): the exit code then follows the checks.
    easy = [arg for name, (comparison, _, _, _) in GOALS.items()
            for arg in ("--goal", f"{name}={1e9 if comparison == '<=' else 0}")]
    code, out, err = _run(["--quick", "--json", "--db", str(bench_dir), "--workers", "2", *easy])
    return code, json.loads(out), err


@pytest.fixture(scope="module")
def figures(run: tuple[int, dict[str, Any], str]) -> dict[str, Any]:
    return run[1]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_every_figure_has_its_value_goal_and_verdict(run: tuple[int, dict[str, Any], str]) -> None:
    code, result, err = run
    assert list(result["figures"]) == list(GOALS)
    for name, figure in result["figures"].items():
        assert _positive(figure["value"]), name
        assert figure["goal"].split()[0] in ("<=", ">=") and figure["met"] is True, name
    assert result["missed"] == [] and result["ok"] is True and code == 0, err
    assert all(result["checks"].values()), result["checks"]


def test_ratios_are_measured_interleaved_with_their_spread(figures: dict[str, Any]) -> None:
    for name in RATIOS:
        figure = figures["figures"][name]
        for side in ("a", "b"):
            stats = figure[side]
            assert stats["min"] <= stats["median"] <= stats["max"] and stats["rounds"] >= 2, (name, side)
        assert figure["a"]["rounds"] == figure["b"]["rounds"]


def test_the_claims_behind_the_figures(figures: dict[str, Any]) -> None:
    f = figures["figures"]
    assert f["step_ratio"]["open_after"] == f["step_ratio"]["bare_open_after"] == ["expert_review"]
    assert f["step_ratio"]["bare_services_called"] == ["set_status"]
    assert f["worklist_ratio"]["open_tasks"] == [figures["options"]["small"], figures["options"]["large"]]
    assert f["worklist_ratio"]["rows"] == [25, 25]
    assert any(DUE_INDEX in line for line in f["sweep_flat_ratio"]["plan"])
    batch = f["sweep_vs_steps_ratio"]["batch"]
    assert f["sweep_vs_steps_ratio"]["fired"] == [batch] * figures["options"]["batch_rounds"]
    assert f["simulation_steps_per_s"]["workers"] == 2 and f["simulation_steps_per_s"]["steps"] > 0
    assert f["state_bytes_median"]["value"] <= f["state_bytes_median"]["max"]
    assert figures["details"]["delivery"]["all_delivered"] is True


def test_a_missed_goal_exits_non_zero_and_says_which(tmp_path: Path) -> None:
    code, out, err = _run(["--quick", "--db", str(tmp_path), "--workers", "1", "--goal", "step_ratio=0.0001"])
    assert code == 1
    assert "step_ratio" in err and "未达成的目标" in err
    assert "step_ratio" in out and "目标" in out  # the table for people


def test_the_databases_are_kept_in_the_given_directory_and_never_reused(bench_dir: Path,
                                                                       figures: dict[str, Any]) -> None:
    assert {p.name for p in bench_dir.glob("bench-*.sqlite3")} == {
        "bench-step.sqlite3", "bench-small.sqlite3", "bench-large.sqlite3", "bench-sweep.sqlite3",
        "bench-delivery.sqlite3"}
    code, out, err = _run(["--quick", "--db", str(bench_dir)])
    assert code == 2 and out == ""
    assert "已有基准数据库" in err


def test_an_unknown_goal_is_refused_before_any_work() -> None:
    code, out, err = _run(["--goal", "speed=3"])
    assert code == 2 and out == "" and "没有指标" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["--goal", "step_ratio=nan"], "目标值应为不小于 0 的有限数"),
    (["--goal", "step_ratio=-5"], "目标值应为不小于 0 的有限数"),
    (["--goal", "step_ratio=inf"], "目标值应为不小于 0 的有限数"),
    (["--workers", "0"], "应为 1 至 64 的整数"),
    (["--workers", "many"], "应为 1 至 64 的整数"),
    (["--db", "{file}"], "不是目录"),
    (["--db", "postgresql://beian:secret@127.0.0.1:1/postgres"], "连接被拒绝"),
])
def test_options_it_cannot_run_with_are_one_chinese_line_before_any_work(argv: list[str], says: str,
                                                                        tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    code, out, err = _run(["--quick", *(arg.format(file=tmp_path / "a-file") for arg in argv)])
    assert code == 2 and out == "", err
    assert says in err and "Traceback" not in err and "secret" not in err, err
    assert err.strip().splitlines()[-1].startswith(("错误：", "beian：参数错误：")), err


def test_on_postgresql_the_database_figures_are_measured_there() -> None:
    code, out, err = _run(["--quick", "--json", "--db", postgres_admin_url(), "--goal", "step_ratio=1e9",
                           "--goal", "sweep_vs_steps_ratio=1e9", "--goal", "worklist_ratio=1e9",
                           "--goal", "sweep_flat_ratio=1e9"])
    result = json.loads(out)
    assert result["options"]["database"] == "postgresql" and result["machine"]["postgresql"]
    # The simulation's scratch databases and a cold command are the same on any server: measured on SQLite only.
    assert list(result["figures"]) == list(RATIOS)
    assert all(result["checks"].values()), result["checks"]
    assert code == 0, err


def test_the_worklist_measure_reads_a_full_first_page_at_every_size(tmp_path: Path) -> None:
    said: list[str] = []
    result = measure_worklist([30, 3], lambda n: f"sqlite:///{tmp_path / f'worklist-{n}.sqlite3'}", said.append,
                              repetitions=2)
    assert [(level["n"], level["first_page_rows"]) for level in result["sizes"]] == [(3, 3), (30, 25)]
    assert result["goal"] == 1.5 and result["worklist_ratio"] > 0 and isinstance(result["within_goal"], bool)
    assert any("待办列表首页" in line for line in said)
