"""Shared fixtures: a fresh SQLite file per test, driven through the real `beian` command line in-process."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_APPLICATION = ROOT / "examples" / "application.json"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Beian:
    """Runs `beian --db <file> --json [--now T] ARGS…` in-process and checks the exit code."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.now: str | None = None

    def __call__(self, *args: str, now: str | None = None, expect: int = 0, as_json: bool = True) -> Result:
        argv = ["--db", str(self.db)] + (["--json"] if as_json else [])
        when = now or self.now
        if when:
            argv += ["--now", when]
        argv += list(args)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = int(exc.code or 0)
        result = Result(code, out.getvalue(), err.getvalue())
        if expect is not None:
            assert code == expect, f"beian {' '.join(args)} exited {code}, expected {expect}\n{result.err}{result.out}"
        return result

    def json(self, *args: str, now: str | None = None) -> Any:
        return self(*args, now=now).json


@pytest.fixture
def beian(tmp_path: Path) -> Beian:
    cli = Beian(tmp_path / "beian.sqlite3")
    cli("init")
    return cli


@pytest.fixture
def application() -> dict[str, Any]:
    return json.loads(EXAMPLE_APPLICATION.read_text(encoding="utf-8"))


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[Any, str], str]:
    def write(value: Any, name: str = "data.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def bpmn_copy(tmp_path: Path) -> Path:
    """A private copy of bpmn/ for tests that break or change definitions."""
    target = tmp_path / "bpmn"
    shutil.copytree(ROOT / "bpmn", target)
    return target
