"""The bpmn.io tools' tests: node with the npm packages of tools/bpmnio (`npm ci --prefix tools/bpmnio`)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ROOT, _on_ci

TOOLS = ROOT / "tools" / "bpmnio"


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, once the npm packages are installed; skips (locally) or fails (CI) otherwise."""
    executable = shutil.which("node")
    missing = None
    if executable is None:
        missing = "node is not installed"
    elif not (TOOLS / "node_modules" / "bpmn-moddle").is_dir() or not (TOOLS / "node_modules" / "bpmnlint").is_dir():
        missing = "tools/bpmnio/node_modules is missing: run `npm ci --prefix tools/bpmnio --no-audit --no-fund`"
    if missing is None:
        assert executable is not None
        return executable
    if _on_ci():
        pytest.fail(f"{missing} but CI=true: CI must run the bpmn.io tools", pytrace=False)
    pytest.skip(missing)
