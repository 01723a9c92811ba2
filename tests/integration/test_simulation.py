"""`beian simulate`: synthetic cases through versions of the filing process on scratch SQLite databases, with the
change between versions showing in the figures (real engine, real databases, no mocks)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tasks.errors import InvalidInput
from tests.conftest import ROOT, Beian
from workflows import simulation
from workflows.definitions import DefinitionSource, read_source
from workflows.simulation import Deployed, read_deployed, resolve_variants, simulate
from workflows.simulation_profile import ProfileError, load_profile, merge, profile_from_data

FIRST, LAST = date(2026, 9, 1), date(2026, 9, 30)
PUBLICITY = "publicity_deadline = publicity_period(today(), region['publicity_days'])"
# A new step between the site inspection and the higher-level review, in the reviewers' lane, that the profile does
# not name: it takes the reviewer role's default duration and the default weights of its `result` field.
EXTRA_TASK = ('<bpmn:userTask id="extra_review" name="处室会审"><bpmn:extensionElements><spiffworkflow:properties>'
              '<spiffworkflow:property name="formJsonSchemaFilename" value="higher_review.schema.json" />'
              '</spiffworkflow:properties></bpmn:extensionElements>'
              '<bpmn:incoming>flow_inspection_merge_to_needs_higher_review</bpmn:incoming>'
              '<bpmn:outgoing>flow_extra_review_done</bpmn:outgoing></bpmn:userTask>'
              '<bpmn:sequenceFlow id="flow_extra_review_done" sourceRef="extra_review" '
              'targetRef="needs_higher_review" />'
              '\n    <bpmn:exclusiveGateway id="needs_higher_review"')
# No objection and every supplement answered: each case takes the same path in every version.
# How fast a run went is the machine's (and the number of workers the run's choice), and the states' size varies by a
# few bytes (the engine's own ids and stamps); everything else is the seed's.
TIMINGS = ("seconds", "engine_seconds", "cpu_seconds", "steps_per_second", "steps_per_wall_second",
           "steps_per_engine_cpu_second", "workers", "state_bytes")
QUIET = {"messages": {"objection": {"probability": 0, "delay": {"distribution": "fixed", "value": 1}},
                      "resubmission": {"probability": 1, "delay": {"distribution": "fixed", "value": 5}}},
         "roles": {"reviewer": {"duration": {"distribution": "fixed", "value": 3}}}}


def _replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


@pytest.fixture
def versions(bpmn_copy: Path) -> dict[str, Path]:
    """The bundled diagram, a copy with a 7-working-day publicity and a copy with an extra review step (forms in
    the copied `forms/` beside them)."""
    bundled = (ROOT / "bpmn" / "filing_application.bpmn").read_text(encoding="utf-8")
    publicity = bpmn_copy / "publicity7.bpmn"
    publicity.write_text(_replace(bundled, PUBLICITY, "publicity_deadline = publicity_period(today(), 7)"),
                         encoding="utf-8")
    extra = bundled
    for old, new in (
            ('sourceRef="inspection_merge" targetRef="needs_higher_review"',
             'sourceRef="inspection_merge" targetRef="extra_review"'),
            ("<bpmn:incoming>flow_inspection_merge_to_needs_higher_review</bpmn:incoming>",
             "<bpmn:incoming>flow_extra_review_done</bpmn:incoming>"),
            ("<bpmn:flowNodeRef>higher_review</bpmn:flowNodeRef>",
             "<bpmn:flowNodeRef>higher_review</bpmn:flowNodeRef><bpmn:flowNodeRef>extra_review</bpmn:flowNodeRef>"),
            ('<bpmn:exclusiveGateway id="needs_higher_review"', EXTRA_TASK)):
        extra = _replace(extra, old, new)
    (bpmn_copy / "extra_review.bpmn").write_text(extra, encoding="utf-8")
    return {"bundled": bpmn_copy / "filing_application.bpmn", "publicity7": publicity,
            "extra": bpmn_copy / "extra_review.bpmn"}


def _quiet_profile(**more: Any) -> Any:
    default = json.loads((ROOT / "bpmn" / "simulation" / "profile.json").read_text(encoding="utf-8"))
    return profile_from_data(merge(merge(default, QUIET), more), "测试配置")


def _working_days(result: dict[str, Any]) -> dict[str, float]:
    return {r["case"]: r["working_days"] for r in result["cases"] if r["outcome"] == "filed"}


def test_a_longer_publicity_and_an_extra_step_show_in_the_figures(versions: dict[str, Path]) -> None:
    report = simulate("filing_application", cases=12, first=FIRST, last=LAST, profile=_quiet_profile(),
                      requested=[("file", str(versions[k])) for k in ("bundled", "publicity7", "extra")], seed=11)
    base, publicity, extra = report["versions"]
    # Each file is named by the path as given, and said not to be deployed; the columns get its file name.
    assert [v["variant"]["label"] for v in report["versions"]] == [
        f"文件 {versions[k]}（未部署）" for k in ("bundled", "publicity7", "extra")]
    assert [v["variant"]["heading"] for v in report["versions"]] == [
        "文件 filing_application.bpmn", "文件 publicity7.bpmn", "文件 extra_review.bpmn"]
    assert [d["version"] for d in report["differences"]] == [f"文件 {versions[k]}（未部署）"
                                                             for k in ("publicity7", "extra")]
    for result in (base, publicity, extra):
        assert result["started"] == 12 and result["stuck"] == 0 and result["in_progress"] == 0
    assert base["filed"] >= 6  # the default weights file most applications
    assert publicity["filed"] == extra["filed"] == base["filed"]
    # The same case took the same durations and decisions in every version: the publicity adds exactly its two
    # working days to each case, the extra step its fixed three (office time, in working days).
    base_days = _working_days(base)
    assert {case: round(days - base_days[case], 2) for case, days in _working_days(publicity).items()} == {
        case: 2.0 for case in base_days}
    assert {case: round(days - base_days[case], 2) for case, days in _working_days(extra).items()} == {
        case: 3.0 for case in base_days}
    longer, with_step = (d["figures"] for d in report["differences"])
    assert longer["time_to_receipt.working_days.median"] == 2.0
    assert with_step["time_to_receipt.working_days.median"] == 3.0
    # Two working days are at least two calendar days, and no more than two weeks with the National Day holidays.
    assert 2.0 <= longer["time_to_receipt.calendar_days.median"] <= 14.0
    assert longer["throughput_per_30_days"] < 0 and with_step["throughput_per_30_days"] < 0
    # The new step is not in the profile: it ran on its role's default, and the report says so.
    assert base["defaults_used"] == [] and publicity["defaults_used"] == []
    assert extra["defaults_used"] == [
        {"task": "extra_review", "name": "处室会审", "setting": "duration", "from": "roles.reviewer.duration"},
        {"task": "extra_review", "name": "处室会审", "setting": "outcomes.result", "from": "outcomes.result"}]
    # The engine's steps: one application per case, and the extra step is one more completion for every case that
    # reached it (each filed case did); each version says how many steps per second of CPU time the engine made.
    for result in (base, publicity, extra):
        assert result["steps_by_kind"]["apply"] == 12
        assert result["steps"] == sum(result["steps_by_kind"].values())
        assert result["steps_per_second"] > 0 and result["steps_per_wall_second"] > 0
        assert result["engine_seconds"]["cpu"] > 0
    assert publicity["steps_by_kind"] == base["steps_by_kind"]
    assert extra["steps_by_kind"]["complete"] >= base["steps_by_kind"]["complete"] + base["filed"]


def test_each_version_is_named_by_what_it_is_and_look_alikes_are_told_apart(
        tmp_path: Path, bpmn_copy: Path, versions: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    deployed = Deployed({1: read_source(versions["bundled"]), 2: read_source(versions["publicity7"])})
    elsewhere = shutil.copytree(bpmn_copy, tmp_path / "elsewhere") / "extra_review.bpmn"  # same name, other folder
    extra = str(versions["extra"])
    variants = resolve_variants("filing_application", [
        ("version", "1"), ("file", extra), ("file", str(versions["publicity7"])), ("file", extra),
        ("file", str(elsewhere))], deployed)
    assert [v.label for v in variants] == [
        "第 1 版（已部署，filing_application.bpmn）",
        f"文件 {extra}（未部署，第 1 次运行）",
        f"文件 {versions['publicity7']}（与已部署的第 2 版内容相同）",  # not a new version: it is deployed
        f"文件 {extra}（未部署，第 2 次运行）",
        f"文件 {elsewhere}（未部署）"]
    # Two files called extra_review.bpmn: their columns are headed by their paths, not by a number alone.
    assert [v.heading for v in variants] == [
        "第 1 版", f"文件 {extra}", "文件 publicity7.bpmn", f"文件 {extra}", f"文件 {elsewhere}"]

    # The same path read twice with different content (saved in an editor meanwhile): told apart by the hash.
    real_read = simulation.read_source

    def saved_meanwhile(path: Path) -> DefinitionSource:
        source = real_read(path)
        path.write_text(path.read_text(encoding="utf-8").replace("(today(), 7)", "(today(), 9)"), encoding="utf-8")
        return source

    monkeypatch.setattr(simulation, "read_source", saved_meanwhile)
    publicity = str(versions["publicity7"])
    before, after = resolve_variants("filing_application", [("file", publicity), ("file", publicity)], Deployed({}))
    assert before.source.sha256 != after.source.sha256
    assert (before.label, after.label) == (f"文件 {publicity}（未部署，sha256 {before.source.sha256[:12]}）",
                                           f"文件 {publicity}（未部署，sha256 {after.source.sha256[:12]}）")
    assert all("#" not in v.label for v in [*variants, before, after])


def test_the_same_seed_gives_the_same_figures(versions: dict[str, Path]) -> None:
    profile = load_profile()
    runs = [simulate("filing_application", cases=6, first=FIRST, last=LAST, profile=profile, seed=seed)
            for seed in (5, 5, 6)]
    for run in runs:
        for result in run["versions"]:
            assert result["variant"]["label"] == "内置文件 filing_application.bpmn（未部署）"  # nothing deployed
            assert result["steps_per_second"] > 0
            for timing in TIMINGS:
                result.pop(timing)
    assert runs[0] == runs[1]
    assert runs[0]["versions"][0]["cases"] != runs[2]["versions"][0]["cases"]


def test_the_cases_split_over_worker_processes_give_the_report_of_one_process() -> None:
    """Each worker runs its share of the cases in its own scratch database; numbers, durations, decisions, timers and
    figures come out as when one process runs them all."""
    runs = {workers: simulate("filing_application", cases=9, first=FIRST, last=LAST, profile=load_profile(), seed=11,
                              workers=workers) for workers in (1, 2, 3)}
    assert [runs[w]["versions"][0]["workers"] for w in (1, 2, 3)] == [1, 2, 3]
    sizes = runs[1]["versions"][0]["state_bytes"]
    assert 0 < sizes["median"] <= sizes["p90"] <= sizes["max"]
    for run in runs.values():
        for result in run["versions"]:
            for timing in TIMINGS:
                result.pop(timing)
    assert runs[1] == runs[2] == runs[3]
    cases = runs[1]["versions"][0]["cases"]
    assert [c["case"] for c in cases] == [f"BA2026-{n:05d}" for n in range(1, 10)]  # numbered as they arrived
    assert runs[1]["versions"][0]["steps"] > 9 and runs[1]["versions"][0]["filed"] > 0


def test_a_supplement_nobody_answers_leaves_the_case_stuck() -> None:
    profile = _quiet_profile(
        tasks={"acceptance": {"outcomes": {"decision": {"supplement": 1}}}},
        messages={"resubmission": {"probability": 0, "delay": {"distribution": "fixed", "value": 1}}},
        horizon={"days_after_until": 30})
    (result,) = simulate("filing_application", cases=3, first=FIRST, last=FIRST, profile=profile)["versions"]
    assert (result["started"], result["filed"], result["stuck"]) == (3, 0, 3)
    assert result["stuck_reasons"] == {"等待外部消息（补正材料重新提交），按模拟配置不会到达": 3}


@pytest.mark.parametrize(("override", "named"), [
    ({"tasks": {"acceptance": {"duraton": {"distribution": "fixed", "value": 1}}}}, "duraton"),
    ({"arrivals": {"patern": "even"}}, "patern"),
    ({"roles": {"intake": {"duration": {"distribution": "lognormal", "median": 3}}}}, "p90"),
    ({"roles": {"clerk": {"duration": {"distribution": "fixed", "value": 1}}}}, "clerk"),
    ({"messages": {"objection": {"probability": 2, "delay": {"distribution": "fixed", "value": 1}}}},
     "messages.objection.probability"),
    ({"tasks": {"acceptance": {"outcomes": {"decision": {"acept": 1}}}}}, "acept"),
])
def test_a_malformed_profile_is_refused_naming_the_key(tmp_path: Path, override: dict[str, Any], named: str) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(override), encoding="utf-8")
    result = Beian(tmp_path / "user.sqlite3")("simulate", "filing_application", "--cases", "2", "--from", "2026-09-01",
                                              "--until", "2026-09-30", "--profile", str(profile), expect=4)
    assert named in result.err and "模拟配置" in result.err
    assert not (tmp_path / "user.sqlite3").exists()  # the user's database is never created or written


def test_bad_input_is_refused_in_chinese(tmp_path: Path, bpmn_copy: Path) -> None:
    cli = Beian(tmp_path / "user.sqlite3")
    window = ("--from", "2026-09-01", "--until", "2026-09-30")
    assert "早于 --from" in cli("simulate", "filing_application", "--cases", "2", "--from", "2026-09-30",
                                "--until", "2026-09-01", expect=4).err
    assert "--cases" in cli("simulate", "filing_application", "--cases", "0", *window, expect=4).err
    missing, not_json = tmp_path / "missing.json", tmp_path / "profile.json"
    not_json.write_text("{\"arrivals\": }", encoding="utf-8")
    assert f"无法读取模拟配置文件 {missing}：文件或文件夹不存在" in cli(
        "simulate", "filing_application", "--cases", "2", *window, "--profile", str(missing), expect=4).err
    assert f"模拟配置文件 {not_json} 不是有效的 JSON：第 1 行第 14 列，此处应为一个值" in cli(
        "simulate", "filing_application", "--cases", "2", *window, "--profile", str(not_json), expect=4).err
    # Dates the working-day calendar does not cover, and a window of centuries, are refused before anything runs.
    assert "1901—2099 年之内" in cli("simulate", "filing_application", "--cases", "2", "--from", "1900-01-01",
                                    "--until", "9999-12-31", expect=4).err
    assert "最长 3660 天" in cli("simulate", "filing_application", "--cases", "2", "--from", "2026-01-01",
                                "--until", "2099-12-31", expect=4).err
    assert "超出工作日历支持的 2099 年" in cli("simulate", "filing_application", "--cases", "2", "--from",
                                              "2099-09-01", "--until", "2099-12-31", expect=4).err
    assert "未知的流程" in cli("simulate", "no_such_process", "--cases", "2", *window, expect=3).err
    refused = cli("simulate", "renewal", "--cases", "2", *window, expect=4).err
    assert "不能单独模拟" in refused and "filing_application" in refused
    assert "第 9 版" in cli("simulate", "filing_application", "--version", "9", "--cases", "2", *window,
                            expect=3).err
    broken = bpmn_copy / "broken.bpmn"
    broken.write_text(_replace((bpmn_copy / "filing_application.bpmn").read_text(encoding="utf-8"), PUBLICITY,
                               "publicity_deadline = __import__('os').getcwd()"), encoding="utf-8")
    assert "不能模拟" in cli("simulate", "filing_application", "--file", str(broken), "--cases", "2", *window,
                             expect=7).err
    with pytest.raises(ProfileError, match="arrivals.applicants\\[0\\]"):
        simulate("filing_application", cases=1, first=FIRST, last=LAST, profile=_quiet_profile(arrivals={
            "pattern": "even", "applicants": [{"region": "510000", "authority_level": "municipal",
                                               "institution_type": "employer", "weight": 1}]}))
    with pytest.raises(InvalidInput, match="没有工作日"):
        simulate("filing_application", cases=1, first=date(2026, 10, 1), last=date(2026, 10, 4),
                 profile=load_profile())


def test_cli_compares_deployed_versions_and_only_reads_the_database(tmp_path: Path,
                                                                    versions: dict[str, Path]) -> None:
    user_db = tmp_path / "user.sqlite3"
    cli = Beian(user_db)
    cli("init")
    cli("bpmn", "deploy", str(versions["publicity7"]))
    before = hashlib.sha256(user_db.read_bytes()).hexdigest()
    deployed = read_deployed(cli.url, "filing_application")
    assert [v.label for v in resolve_variants("filing_application", [], deployed)] == [
        "第 2 版（已部署，publicity7.bpmn）"]  # the latest

    report = cli.json("simulate", "filing_application", "--version", "1", "--version", "2", "--cases", "6",
                      "--from", "2026-09-01", "--until", "2026-09-30", "--seed", "3")
    first, second = "第 1 版（已部署，filing_application.bpmn）", "第 2 版（已部署，publicity7.bpmn）"
    assert [(v["variant"]["label"], v["started"]) for v in report["versions"]] == [(first, 6), (second, 6)]
    (difference,) = report["differences"]
    assert difference["base"] == first and difference["version"] == second
    assert all(v["steps_per_second"] > 0 for v in report["versions"])
    assert report["versions"][0]["filed"] == report["versions"][1]["filed"] > 0
    assert difference["figures"]["time_to_receipt.working_days.median"] == 2.0
    assert report["seed"] == 3 and report["cases"] == 6
    assert hashlib.sha256(user_db.read_bytes()).hexdigest() == before
    assert cli.json("bpmn", "versions", "filing_application")[0]["instances"] == 0

    table = cli("simulate", "filing_application", "--cases", "1", "--from", "2026-09-01", "--until", "2026-09-01",
                as_json=False).out
    assert "申请至回执：中位数（工作日）" in table and "第 2 版" in table
    # Two versions: each named in full beside its number, with the engine's speed, and the columns by number.
    table = cli("simulate", "filing_application", "--version", "1", "--file", str(versions["extra"]), "--cases", "1",
                "--from", "2026-09-01", "--until", "2026-09-01", as_json=False).out
    lines = table.splitlines()
    legend = lines.index("比较的版本（第一个为基准，差值 = 该版本 − [1]）：")
    assert lines[legend + 1] == f"  [1] {first}"
    assert lines[legend + 3] == f"  [2] 文件 {versions['extra']}（未部署）"
    for line in (lines[legend + 2], lines[legend + 4]):
        assert re.fullmatch(r" +引擎步数 \d+（申请 1、办结待办 \d+、外部消息 \d+、定时事件 \d+），每秒 [\d.]+ 步"
                            r"（CPU 时间，\d+ 个进程中最忙的用 [\d.]+ 秒，其中引擎 [\d.]+ 秒；按墙钟每秒 [\d.]+ 步）；"
                            r"全程用时 [\d.]+ 秒", line), line
        assert float(line.split("每秒 ")[1].split(" 步")[0]) > 0
    header = next(line for line in lines if line.startswith("指标"))
    assert header.split() == ["指标", "[1]", "第", "1", "版", "[2]", "文件", "extra_review.bpmn", "差值", "[2]−[1]"]
    assert "#" not in table


def test_a_shard_s_scratch_database_does_not_wait_for_the_disk(tmp_path: Path) -> None:
    """synchronous=OFF on every connection of the scratch database, the one opened with the application included."""
    from sqlalchemy import text

    from workflows.service import Beian as Service
    from workflows.simulation_run import as_scratch

    app = Service(f"sqlite:///{tmp_path / 'scratch.sqlite3'}")
    try:
        with app.uow() as uow:
            assert uow.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL, as every database has
        as_scratch(app)
        with app.uow() as uow:
            assert uow.session.execute(text("PRAGMA synchronous")).scalar() == 0
    finally:
        app.close()


def test_a_role_the_administrator_added_drives_its_lane_in_the_profile(tmp_path: Path,
                                                                        versions: dict[str, Path]) -> None:
    """The extra review step's lane renamed for a role added with `beian roles add`: the profile gives that role's
    default duration under its own key, the plan takes the step's duration from it, and no case is stuck; the
    same key is refused (with the keys there are) where the database has no such role."""
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(merge(QUIET, {"roles": {"legal_review": {
        "duration": {"distribution": "fixed", "value": 3}}}})), encoding="utf-8")
    window = ("--from", "2026-09-01", "--until", "2026-09-30", "--profile", str(profile))
    refused = Beian(tmp_path / "other.sqlite3")("simulate", "filing_application", "--cases", "1", *window, expect=4)
    assert "模拟配置 roles 中的键“legal_review”无效；可用的键：" in refused.err and "reviewer" in refused.err

    renamed = versions["extra"].with_name("legal_review.bpmn")
    renamed.write_text(_replace(versions["extra"].read_text(encoding="utf-8"), 'name="复核人员"', 'name="法制审核员"'),
                       encoding="utf-8")
    cli = Beian(tmp_path / "user.sqlite3")
    cli("init")
    cli("roles", "add", "legal_review", "--label", "法制审核员", "--level", "province")
    cli("bpmn", "deploy", str(renamed))
    report = cli.json("simulate", "filing_application", "--cases", "3", *window, "--workers", "2")
    (version,) = report["versions"]
    assert {"task": "extra_review", "name": "处室会审", "setting": "duration",
            "from": "roles.legal_review.duration"} in version["defaults_used"]
    assert version["started"] == 3 and version["filed"] >= 1 and version["stuck"] == 0


def test_a_second_run_in_the_same_process_follows_its_own_profile() -> None:
    """One process, two runs of the same diagram with the reviewers' step taking 1 and then 20 working days: the
    second plans with its own profile (a plan kept from the first by the diagram's hash gave the first's figures)."""
    def median_days(days: int) -> float:
        profile = _quiet_profile(tasks={"higher_review": {"duration": {"distribution": "fixed", "value": days}}})
        report = simulate("filing_application", cases=2, first=FIRST, last=LAST, profile=profile, workers=1)
        result: float = report["versions"][0]["time_to_receipt"]["working_days"]["median"]
        return result

    quick, slow = median_days(1), median_days(20)
    assert slow >= quick + 15
