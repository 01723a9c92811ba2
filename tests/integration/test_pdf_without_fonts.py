"""A machine without the Noto CJK fonts: the PDF link answers with a Chinese page saying what to install (503), and
`beian document ID --pdf` says the same in one line. A real condition: fontconfig pointed (FONTCONFIG_FILE) at a
configuration without any font, in a real CLI process and a real web server on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLE_APPLICATION, ROOT
from tests.conftest import Beian as Cli
from workflows.service import Beian
from workflows.users import add_user

PASSWORD = "correct-horse-1"


@pytest.fixture
def no_fonts(tmp_path: Path) -> dict[str, str]:
    """The environment of a process whose fontconfig knows no font at all."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <!DOCTYPE fontconfig SYSTEM "fonts.dtd">
        <fontconfig>
          <dir>{tmp_path / "no-fonts-here"}</dir>
          <cachedir>{tmp_path / "font-cache"}</cachedir>
        </fontconfig>
        """), encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture
def document(tmp_path: Path) -> tuple[str, int]:
    """A SQLite database with a rejected application, so an issued 不予受理通知书; its URL and the document id."""
    cli = Cli(tmp_path / "beian.sqlite3")
    cli("init")
    received = "2026-09-24T10:00:00+08:00"
    case = cli.json("apply", str(EXAMPLE_APPLICATION), "--received-at", received, now=received)["case"]
    [task] = [t for t in cli.json("tasks", "--case", case, now=received) if t["bpmn_id"] == "acceptance"]
    cli.json("complete", task["id"], "--data", json.dumps({"decision": "reject", "reasons": "不属于本级受理范围"}),
             now="2026-09-25T10:00:00+08:00")
    [issued] = cli.json("show", case)["documents"]
    return cli.url, issued["id"]


def test_the_cli_says_what_to_install_in_one_line(document: tuple[str, int], no_fonts: dict[str, str],
                                                  tmp_path: Path) -> None:
    url, document_id = document
    out = tmp_path / "notice.pdf"
    result = subprocess.run([sys.executable, "-m", "adapters.entrypoints.cli",
                             "--db", url, "document", str(document_id),
                             "--pdf", str(out)], cwd=ROOT, env=no_fonts, capture_output=True, text=True, timeout=120)
    assert result.returncode == 9
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("错误：无法生成 PDF：未安装中文字体“Noto Serif CJK SC”")
    assert "apt-get install fonts-noto-cjk" in result.stderr
    assert not out.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(document: tuple[str, int], no_fonts: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`python -m adapters.entrypoints.web` on loopback, without fonts, on the database of `document`, with one
    intake clerk."""
    url, _ = document
    service = Beian(url)
    try:
        add_user(service, "li.na", "李受理", PASSWORD, ["intake"], "510100", actor="test")
    finally:
        service.close()
    port = _free_port()
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "adapters.entrypoints.web",
                                "--host", "127.0.0.1", "--port", str(port),
                                "--db", url], cwd=tmp_path, env={**no_fonts, "BEIAN_WEB_SECRET": "test-secret"},
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "web.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_pdf_link_answers_with_a_chinese_page_saying_what_to_install(server: str,
                                                                        document: tuple[str, int]) -> None:
    _, document_id = document
    with httpx.Client(base_url=server, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        signed_in = client.post("/login", data={"username": "li.na", "password": PASSWORD,
                                                "csrf_token": token.group(1), "next": "/tasks"})
        assert signed_in.status_code == 303
        pdf = client.get(f"/documents/{document_id}.pdf")
        assert pdf.status_code == 503
        assert pdf.headers["content-type"].startswith("text/html")
        assert "暂时无法生成 PDF" in pdf.text and "Internal Server Error" not in pdf.text
        assert "未安装中文字体“Noto Serif CJK SC”" in pdf.text
        assert "apt-get install fonts-noto-cjk" in pdf.text
        assert f"/documents/{document_id}" in pdf.text  # the HTML notice, to print meanwhile
        html = client.get(f"/documents/{document_id}")
        assert html.status_code == 200 and "不予受理通知书" in html.text
