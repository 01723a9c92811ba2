"""The CLI's progress bar (adapters/entrypoints/cli/progress_bar.py): drawn only on a terminal, never under --json."""

from __future__ import annotations

import io

from rich.console import Console

from adapters.entrypoints.cli.progress_bar import progress_bar
from workflows.on_progress import no_progress


def test_on_a_terminal_the_bar_is_drawn_with_its_label_and_counts() -> None:
    out = io.StringIO()
    with progress_bar(quiet=False, console=Console(file=out, force_terminal=True, width=100)) as report:
        assert report is not no_progress
        for done in range(4):
            report(done, 3, "迁移案件")
    assert "迁移案件" in out.getvalue() and "3/3" in out.getvalue()


def test_quiet_under_json_and_off_a_terminal() -> None:
    for quiet, terminal in ((True, True), (False, False)):
        out = io.StringIO()
        with progress_bar(quiet=quiet, console=Console(file=out, force_terminal=terminal)) as report:
            assert report is no_progress
            report(1, 2, "迁移案件")
        assert out.getvalue() == ""
