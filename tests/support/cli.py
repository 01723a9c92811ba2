"""The command line exactly as a person types it (`run`: no --db or --json added, unlike the `Beian` harness of
tests/conftest.py), and the database clock's marker as it stands (`clock_marker`)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

from adapters.entrypoints.cli.main import main
from tests.conftest import Result
from workflows.database_clock import read_marker
from workflows.service import Beian as Service


def run(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str = "") -> Result:
    """`beian ARGV…` in-process exactly as typed: no --db or --json added (unlike the `Beian` harness)."""
    out, err = io.StringIO(), io.StringIO()
    previous_cwd, previous_env, previous_stdin = os.getcwd(), dict(os.environ), sys.stdin
    try:
        sys.stdin = io.StringIO(stdin)
        if cwd is not None:
            os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.stdin = previous_stdin
        os.chdir(previous_cwd)
        os.environ.clear()
        os.environ.update(previous_env)
    return Result(code, out.getvalue(), err.getvalue())


def clock_marker(url: str) -> Any:
    service = Service(url)
    try:
        return read_marker(service)
    finally:
        service.close()
