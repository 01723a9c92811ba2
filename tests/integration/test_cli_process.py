"""The installed `beian` console script, run as a real process: exit codes, stderr, and a YAML calendar file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BEIAN = str(Path(sys.executable).with_name("beian"))


def run(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BEIAN, "--db", str(db), *args], capture_output=True, text=True, timeout=120)


def test_console_script_runs_and_fails_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    assert run("init", db=db).returncode == 0
    added = run("--json", "calendar", "add", "2026-09-30", "10", db=db)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["due"] == "2026-10-21T00:00:00+08:00"

    refused = run("calendar", "add", "2026-02-30", "10", db=db)
    assert refused.returncode != 0 and refused.stdout == ""
    assert refused.stderr.startswith("错误：") and "Traceback" not in refused.stderr

    usage = run("complete", db=db)
    assert usage.returncode == 2 and "参数错误" in usage.stderr


def test_calendar_arrangement_in_yaml(tmp_path: Path) -> None:
    db = tmp_path / "yaml.sqlite3"
    assert run("init", db=db).returncode == 0
    arrangement = tmp_path / "2027.yaml"
    arrangement.write_text(
        "year: 2027\n"
        "source: 测试用安排\n"
        "holidays:\n"
        "  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n"
        "workdays: []\n", encoding="utf-8")
    loaded = run("--json", "calendar", "load", str(arrangement), db=db)
    assert loaded.returncode == 0, loaded.stderr
    years = json.loads(run("--json", "calendar", "years", db=db).stdout)
    assert [y["year"] for y in years] == [2027]
    assert json.loads(run("--json", "calendar", "add", "2027-03-01", "5", db=db).stdout)["provisional"] is False


def test_operator_name_is_checked_before_anything_runs(tmp_path: Path) -> None:
    db = tmp_path / "user.sqlite3"
    assert run("init", db=db).returncode == 0
    refused = run("--user", "x" * 101, "calendar", "years", db=db)
    assert refused.returncode == 2 and "--user" in refused.stderr
