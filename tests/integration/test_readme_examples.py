"""Every shell example of README.md runs as written: each fenced bash block, in a fresh folder holding a copy of the
checkout's bpmn/ and examples/, against a fresh database, as a bash script that stops at the first failing command.

Not run, by the explicit list below: the lines that install the checkout, start long-running servers or name hosts of a
multi-machine set-up. What a person does by hand before a block (the prose above it says so) is stood in for by the
equally visible BEFORE_BLOCK.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"

# (pattern of a README line, why it is not run). Each must still match a line of the README.
NOT_RUN: tuple[tuple[str, str], ...] = (
    (r"^python3 -m venv \.venv .*&& beian up$", "installs the checkout and starts the long-running servers"),
    (r"^python3 -m venv \.venv .*python -m pytest", "installs the checkout and runs this very suite (CI: .ci/run)"),
    (r"^python -m pytest\b", "runs part of this very suite (CI's smoke run on the other Pythons: .ci/run)"),
    (r"^beian up\b", "starts the long-running servers (tests/prefect/test_up.py runs it)"),
    (r"^beian deploy --pool\b", "registers the deployments on the Prefect server of a multi-machine set-up"),
    (r"^beian worker\b", "a long-running Prefect worker"),
    (r"^export \w+=\S*(DBHOST|//A:)", "a placeholder of a multi-machine set-up (the hosts DBHOST and A)"),
)

# How a block's first line begins → (commands run before it, what they stand for).
BEFORE_BLOCK: dict[str, tuple[str, str]] = {
    "beian bpmn check bpmn/filing_application.bpmn": (
        "beian init && sed -i 's/name=\"专家评估\"/name=\"专家评估（含线上评审）\"/' bpmn/filing_application.bpmn",
        "the system runs (beian up deployed version 1) and the process owner has edited the diagram in a modeller"),
}


def blocks() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    return [block.strip("\n").splitlines() for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)]


def not_run(line: str) -> str | None:
    return next((why for pattern, why in NOT_RUN if re.search(pattern, line.strip())), None)


def before_block(block: list[str]) -> tuple[str, str] | None:
    return next((before for first, before in BEFORE_BLOCK.items() if block[0].startswith(first)), None)


def runnable() -> list[list[str]]:
    return [block for block in blocks() if any(line.strip() and not line.lstrip().startswith("#")
                                              and not_run(line) is None for line in block)]


def test_the_list_of_lines_not_run_is_current() -> None:
    lines = [line for block in blocks() for line in block]
    for pattern, why in NOT_RUN:
        assert any(re.search(pattern, line.strip()) for line in lines), f"no README line matches {pattern} ({why})"
    for first in BEFORE_BLOCK:
        assert any(block[0].startswith(first) for block in runnable()), f"no README block starts with {first}"
    # The README's tour is among what runs.
    assert any("init --practice" in line for block in runnable() for line in block)


@pytest.mark.parametrize("block", runnable(), ids=lambda block: block[0][:40])
def test_readme_block_runs_as_written(block: list[str], tmp_path: Path) -> None:
    for folder in ("bpmn", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    script = ["set -euo pipefail"]
    before = before_block(block)
    if before:
        script += [f"# by hand: {before[1]}", before[0]]
    script += [f": not run: {why}" if (why := not_run(line)) else line for line in block]
    environment = {key: value for key, value in os.environ.items() if key != "BEIAN_DATABASE_URL"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
    assert "Traceback" not in done.stderr
    if any("init --practice" in line for line in block):
        assert "川技评备〔2026〕0001号" in done.stdout and "已立案：XQ2029-00001（renewal）" in done.stdout
        assert "职业技能等级评价机构备案回执" in (tmp_path / "receipt.html").read_text(encoding="utf-8")
        assert not (tmp_path / "beian.sqlite3").exists()  # the tour kept to its practice database
    if before:
        assert "filing_application 第 2 版（已部署）" in done.stdout and "已迁移 0 件" in done.stdout
