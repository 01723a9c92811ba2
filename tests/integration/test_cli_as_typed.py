"""The command line as people type it: global options before or after the command, input that is not proper JSON,
a database that cannot be reached, and whatever else goes wrong — each one line of Chinese, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.entrypoints.cli.failures import EXIT_DATABASE, EXIT_FILE, EXIT_INTERNAL, describe
from adapters.entrypoints.cli.json_input import MAX_JSON_BYTES, MAX_JSON_DEPTH
from tasks.errors import ReceivedInFuture
from tests.conftest import EXAMPLE_APPLICATION, ROOT, Beian
from tests.support.cli import run
from tests.support.scenarios import RECEIVED, apply, file_institution, task, to_publicity
from workflows import clock
from workflows.service import Beian as Service

BEIAN = str(Path(sys.executable).with_name("beian"))


def one_chinese_line(err: str) -> None:
    assert err.startswith("错误：") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


# --- global options anywhere --------------------------------------------------------------------------------------

def test_global_options_work_before_and_after_the_command(beian: Beian, write_json: Any,
                                                          application: dict[str, Any]) -> None:
    url, path = beian.url, write_json(application)
    # The README's own examples: the options after the command.
    applied = run("apply", path, "--now", RECEIVED, "--json", "--db", url)
    assert applied.code == 0, applied.err
    case = json.loads(applied.out)["case"]
    assert beian.json("show", case)["received_at"] == RECEIVED
    listed = run("tasks", "--json", "--db", url, "--now", RECEIVED)
    assert [t["case"] for t in json.loads(listed.out)] == [case]
    assert json.loads(run("--db", url, "--json", "tasks").out) == json.loads(run("tasks", "--db", url, "--json").out)

    # Mixed: --db before, --json and --user after a nested command.
    acceptance = task(beian, case, "acceptance", RECEIVED)
    done = run("--db", url, "complete", acceptance["id"], "--data", '{"decision": "accept"}',
               "--now", "2026-09-28T10:00:00+08:00", "--user", "li.na", "--json")
    assert done.code == 0 and json.loads(done.out)["status"] == "under_review"
    history = beian.json("show", case)["history"]
    assert [h["actor"] for h in history if h["action"] == "task_completed"] == ["li.na"]
    # What the process does after it (the status it sets) is the system's step.
    assert [h["actor"] for h in history if h["action"] == "status_changed"][-1] == "system"

    # Subcommands of subcommands.
    checked = run("bpmn", "check", str(ROOT / "bpmn" / "filing_application.bpmn"), "--json", "--db", url)
    assert checked.code == 0 and json.loads(checked.out)["errors"] == 0
    added = run("calendar", "add", "2026-09-30", "10", "--json", "--db", url)
    assert json.loads(added.out)["due"] == "2026-10-21T00:00:00+08:00"
    user = run("users", "add", "li.na", "--name", "李娜", "--role", "intake", "--region", "510100",
               "--password-stdin", "--json", "--db", url, "--user", "wang.admin", stdin="correct-horse-1\n")
    assert user.code == 0, user.err
    assert json.loads(user.out)["username"] == "li.na"
    assert [u["username"] for u in json.loads(run("users", "list", "--db", url, "--json").out)] == ["li.na"]

    # Given twice, the later one counts (as with any option); given once before, a command does not reset it.
    assert run("--db", "/nowhere/x.sqlite3", "tasks", "--db", url).code == 0
    assert run("--json", "filings", "--db", url).out.startswith("[")


def test_a_server_command_refuses_the_virtual_clock(tmp_path: Path) -> None:
    refused = run("up", "--now", RECEIVED, "--db", str(tmp_path / "up.sqlite3"))
    assert refused.code == 1 and "按真实时间运行，不能与 --now 同用" in refused.err
    assert not (tmp_path / "up.sqlite3").exists()


def test_bench_options_belong_after_bench() -> None:
    misplaced = run("--json", "bench")
    assert misplaced.code == 1 and "beian bench 的选项只能写在 bench 之后" in misplaced.err


# --- JSON that is not standard, too deep or too large ------------------------------------------------------------

@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309", "-2E400"])
def test_numbers_json_cannot_carry_are_refused(beian: Beian, tmp_path: Path, number: str) -> None:
    text = EXAMPLE_APPLICATION.read_text(encoding="utf-8").replace('"region"', f'"score": {number}, "region"', 1)
    (tmp_path / "odd.json").write_text(text, encoding="utf-8")
    refused = beian("apply", str(tmp_path / "odd.json"), expect=1)
    one_chinese_line(refused.err)
    assert "申请材料" in refused.err and number.lstrip("-") in refused.err and "有限的数字" in refused.err
    assert beian.json("tasks") == []


def test_form_data_inline_and_on_standard_input_is_strict_too(beian: Beian, write_json: Any,
                                                              application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    acceptance = task(beian, case, "acceptance", RECEIVED)
    history = beian.json("show", case)["history"]
    inline = beian("complete", acceptance["id"], "--data", '{"decision": "accept", "x": NaN}', expect=1)
    assert "表单数据（参数）含有 NaN" in inline.err
    piped = run("--db", beian.url, "complete", acceptance["id"], "--data", "-",
                stdin='{"decision": "accept", "weight": 1e309}')
    assert piped.code == 1 and "表单数据（标准输入）数字 1e309 超出可表示的范围" in piped.err
    deep = beian("complete", acceptance["id"], "--data", "[" * 100_000 + "]" * 100_000, expect=1)
    one_chinese_line(deep.err)
    assert f"嵌套过深（上限 {MAX_JSON_DEPTH} 层）" in deep.err
    nested = '{"decision": "accept", "x": ' + "[" * 40 + "]" * 40 + "}"
    assert f"嵌套超过 {MAX_JSON_DEPTH} 层" in beian("complete", acceptance["id"], "--data", nested, expect=1).err
    nul = beian("complete", acceptance["id"], "--data", '{"decision": "accept", "reasons": "a\\u0000b"}', expect=1)
    assert "空字符" in nul.err
    assert beian.json("show", case)["history"] == history
    assert task(beian, case, "acceptance")["id"] == acceptance["id"]


def test_json_larger_than_the_bound_is_not_read(beian: Beian, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"pad": "' + "x" * MAX_JSON_BYTES + '"}', encoding="utf-8")
    refused = beian("apply", str(big), expect=1)
    one_chinese_line(refused.err)
    assert "超过 4 MB 的上限" in refused.err
    folder = beian("apply", str(tmp_path), expect=1)
    assert "是一个文件夹" in folder.err
    latin = tmp_path / "latin1.json"
    latin.write_bytes('{"name": "Müller"}'.encode("latin-1"))
    assert "不是 UTF-8 编码" in beian("apply", str(latin), expect=1).err


# --- a time of receipt in the future -----------------------------------------------------------------------------

def test_an_application_received_in_the_future_is_refused(beian: Beian, write_json: Any,
                                                          application: dict[str, Any]) -> None:
    path = write_json(application)
    refused = beian("apply", path, "--received-at", "2026-09-25", now=RECEIVED, expect=4)
    one_chinese_line(refused.err)
    assert "收件时间 2026-09-25 09:00 晚于现在（2026-09-24 10:00）" in refused.err
    assert beian.json("tasks") == []
    # The service refuses it for every caller (the web app's registration of paper applications too).
    service = Service(beian.url)
    try:
        with clock.using_clock(clock.VirtualClock(clock.parse_instant(RECEIVED))), \
                pytest.raises(ReceivedInFuture, match="不能是将来的时间"):
            service.cases.apply(application, received_at=datetime.fromisoformat("2026-09-24T10:00:01+08:00"))
    finally:
        service.close()
    assert beian.json("tasks") == []
    assert beian("apply", path, "--received-at", "2026-09-24T10:00:00+08:00", now=RECEIVED).code == 0


# --- a database that cannot be used -------------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.mark.parametrize(("database", "says"), [
    ("postgresql://beian:secret@127.0.0.1:{port}/beian", "连接被拒绝：数据库服务器没有运行，或主机、端口不对"),
    ("postgresql://beian:secret@127.0.0.1:notaport/beian", "数据库地址无法识别"),
    ("nosuchdriver://somewhere/db", "不支持这种数据库"),
    ("{tmp}/missing/folder/beian.sqlite3", "SQLite 数据库所在的文件夹不存在"),
    ("{tmp}/not-a-database.sqlite3", "该文件不是 SQLite 数据库"),
])
def test_a_database_that_cannot_be_used_is_one_line(tmp_path: Path, database: str, says: str) -> None:
    (tmp_path / "not-a-database.sqlite3").write_text("hello, I am a text file\n" * 100, encoding="utf-8")
    url = database.format(port=_closed_port(), tmp=tmp_path)
    for argv in (("tasks",), ("--now", RECEIVED, "sweep"), ("init",)):
        failed = subprocess.run([BEIAN, "--db", url, *argv], capture_output=True, text=True, timeout=120)
        assert failed.returncode == EXIT_DATABASE and failed.stdout == "", failed.stderr
        one_chinese_line(failed.stderr)
        assert says in failed.stderr and "secret" not in failed.stderr
    assert not (tmp_path / "missing").exists()


def test_a_command_on_a_database_file_that_does_not_exist_says_so_and_creates_nothing(tmp_path: Path) -> None:
    # Reading, working on cases, asking the calendar (whose arrangements are the database's) or setting a part of it
    # up: SQLite would create an empty file and the command fail on its missing tables. `beian init` creates it.
    database = tmp_path / "typo.sqlite3"
    for argv in (("tasks",), ("--now", RECEIVED, "sweep"), ("calendar", "add", "2026-10-01", "5"), ("show", "BA1"),
                 ("roles", "add", "legal_review", "--label", "法制审核员"),
                 ("bpmn", "deploy", str(ROOT / "bpmn" / "sanction.bpmn"))):
        failed = subprocess.run([BEIAN, "--db", str(database), *argv], capture_output=True, text=True, timeout=120)
        assert failed.returncode == EXIT_DATABASE and failed.stdout == "", failed.stderr
        one_chinese_line(failed.stderr)
        assert f"SQLite 数据库文件不存在：{database}；请先运行 beian init 创建它" in failed.stderr
        assert not database.exists()
    made = subprocess.run([BEIAN, "--db", str(database), "init"], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0 and database.exists(), made.stderr
    listed = subprocess.run([BEIAN, "--db", str(database), "--json", "tasks"], capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr


def test_an_unexpected_failure_is_one_line_and_the_traceback_only_on_request(beian: Beian, tmp_path: Path,
                                                                             write_json: Any,
                                                                             application: dict[str, Any]) -> None:
    case = apply(beian, write_json, application)
    to_publicity(beian, case)
    beian("sweep", now="2026-10-17T00:00:01+08:00")
    [receipt] = [d for d in beian.json("show", case)["documents"] if d["kind"] == "filing_receipt"]
    target = tmp_path / "no" / "such" / "folder" / "receipt.html"
    argv = [BEIAN, "--db", beian.url, "document", str(receipt["id"]), "--out", str(target)]
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, "BEIAN_DEBUG": ""})
    assert quiet.returncode == EXIT_FILE and quiet.stdout == ""
    one_chinese_line(quiet.stderr)
    assert quiet.stderr.strip() == f"错误：无法读写文件 {target}：文件或文件夹不存在"
    loud = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, "BEIAN_DEBUG": "1"})
    assert loud.returncode == EXIT_FILE
    assert loud.stderr.startswith(quiet.stderr) and "Traceback (most recent call last)" in loud.stderr
    assert "FileNotFoundError" in loud.stderr


def test_the_last_resort_names_the_failure_in_chinese() -> None:
    message, code = describe(RuntimeError("boom\nsecond line"), None)
    assert code == EXIT_INTERNAL and message.startswith("内部错误（RuntimeError：boom）") and "BEIAN_DEBUG=1" in message
    message, code = describe(FileNotFoundError(2, "No such file or directory", "/x/y.html"), None)
    assert code == EXIT_FILE and message == "无法读写文件 /x/y.html：文件或文件夹不存在"


def test_show_says_each_deadline_and_when_it_falls_due(beian: Beian, write_json: Any,
                                                       application: dict[str, Any]) -> None:
    # A legal period says how it was computed, ending with its last day; a date the filing's validity waits for (the
    # renewal window opening) has no computation and is said by its time, not left blank.
    case = apply(beian, write_json, application)
    shown = beian("show", case, as_json=False, now=RECEIVED).out.splitlines()
    (acceptance,) = [line for line in shown if line.startswith("期限：")]
    assert acceptance.startswith("期限：受理审查：自") and "截止2026年10月15日24时" in acceptance, acceptance

    filed, number = file_institution(beian, write_json, application)
    validity = next(c["case"] for c in beian.json("show", number)["cases"] if c["case"] != filed)
    timers = {t["name"]: t["due"] for t in beian.json("show", validity)["deadlines"]}
    lines = [line for line in beian("show", validity, as_json=False).out.splitlines() if line.startswith("期限：")]
    assert f"期限：续期申请期开始：至 {timers['续期申请期开始'][:16].replace('T', ' ')}" in lines, lines
    assert all(not line.endswith("：") for line in lines), lines
