"""What-if simulation (`beian simulate`): synthetic cases run through one or more versions of a process on the
virtual clock, so a process owner can compare versions before deploying.

Each version runs in scratch SQLite databases in a temporary directory — the cases dealt out to worker processes,
one database each (workflows/simulation_workers.py) — with that version deployed as the process's latest definition,
through the same service layer as real work (`Beian.apply`, `complete`, `send`, `sweep`;
workflows/simulation_run.py). The user's database is only read (its deployed versions and loaded holiday arrangements).

The run is a discrete-event simulation: a heap of the next events (an application arrives, a caseworker completes a
task, an outside party sends a message, a timer falls due); the virtual clock jumps from one to the next. Every
random draw is keyed by (seed, case, step, occurrence), not taken from one shared stream, so the same case gets the
same durations and decisions in every version: a difference in the figures comes from the change to the process,
not from the luck of the draw. `docs/simulation.md` documents the profile and every figure.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.outside.db import ProcessDefinition
from adapters.outside.settings import outside_systems_off
from tasks.calendar import MAX_YEAR, MIN_YEAR, SHANGHAI
from tasks.errors import DefinitionError, InvalidInput, NotFound
from workflows.definitions import DefinitionSource, bpmn_dir, read_source
from workflows.on_progress import OnProgress, no_progress
from workflows.scratch import NO_SCRATCH, Scratch
from workflows.simulation_plan import plan_arrivals, plan_for
from workflows.simulation_profile import OfficeTime, Profile
from workflows.simulation_report import difference
from workflows.simulation_run import local
from workflows.simulation_workers import Workers, default_workers, figures, run_version

DEFAULT_SEED = 20260101
MAX_CASES = 10_000
MAX_WINDOW_DAYS = 3660  # arrivals over at most ten years
SIMULATABLE = {"filing_application"}
# Where the simulation runs, as the report says it: never on the database it reads the versions from.
SCRATCH_DATABASES = ("每个版本、每个工作进程一个临时练习数据库（SQLite，运行后删除）；"
                     "--db 只读取已部署的版本与节假日安排")


# --- which versions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One version to simulate: deployed in the user's database, a file not deployed yet, or the bundled file.

    It is named by what it is (`label`: "第 1 版（已部署，filing_application.bpmn）", "文件 bpmn/x.bpmn（未部署）"), so
    a process owner reading the report knows which column is which without looking back at the command line."""

    name: str  # "第 1 版", "文件 bpmn/x.bpmn" (the path as given), "内置文件 filing_application.bpmn"
    notes: tuple[str, ...]  # what else tells it apart: "已部署", its file, "未部署", a hash prefix, a repeat
    heading: str  # short, for a table column beside its number: "第 1 版", "文件 x.bpmn"
    origin: str  # "deployed" | "file" | "bundled"
    version: int | None
    file: str | None
    source: DefinitionSource

    @property
    def label(self) -> str:
        return f"{self.name}（{'，'.join(self.notes)}）" if self.notes else self.name

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "heading": self.heading, "origin": self.origin, "version": self.version,
                "file": self.file, "file_name": self.source.file_name, "sha256": self.source.sha256}


def _deployed_variant(number: int, source: DefinitionSource) -> Variant:
    notes = ("已部署", source.file_name) if source.file_name else ("已部署",)
    return Variant(f"第 {number} 版", notes, f"第 {number} 版", "deployed", number, None, source)


def _file_variant(given: str, source: DefinitionSource, deployed: Deployed) -> Variant:
    # A file identical to a deployed version is not "a version not deployed yet": saying so spares the process owner
    # comparing a version with itself by mistake (e.g. the edit was not saved).
    same = sorted(number for number, d in deployed.versions.items() if d.sha256 == source.sha256)
    note = f"与已部署的第 {'、'.join(str(n) for n in same)} 版内容相同" if same else "未部署"
    return Variant(f"文件 {given}", (note,), f"文件 {Path(given).name}", "file", None, given, source)


def _distinct(variants: list[Variant]) -> list[Variant]:
    """Variants that would read the same are told apart by what differs: their content (a hash prefix, as
    `beian bpmn versions` shows it) when a file changed between two reads, else which run of the same thing it is."""
    labels = Counter(v.label for v in variants)
    hashes = {label: {v.source.sha256 for v in variants if v.label == label} for label in labels}
    repeats = Counter((v.label, v.source.sha256) for v in variants)
    seen: Counter[tuple[str, str]] = Counter()
    named = []
    for v in variants:
        key = (v.label, v.source.sha256)
        extra: tuple[str, ...] = ()
        if labels[v.label] > 1 and len(hashes[v.label]) > 1:
            extra += (f"sha256 {v.source.sha256[:12]}",)
        if repeats[key] > 1:
            seen[key] += 1
            extra += (f"第 {seen[key]} 次运行",)
        named.append(dataclasses.replace(v, notes=v.notes + extra) if extra else v)
    # Short column headings of different things that collide (two files of the same name in different folders) fall
    # back to the name; a repeat of the same thing keeps its heading (its number and the legend tell them apart).
    names = {heading: {v.name for v in named if v.heading == heading} for heading in {v.heading for v in named}}
    return [dataclasses.replace(v, heading=v.name) if len(names[v.heading]) > 1 else v for v in named]


@dataclass(frozen=True)
class Deployed:
    """What the simulation reads from the user's database."""

    versions: dict[int, DefinitionSource]
    scratch: Scratch = NO_SCRATCH
    """The holiday arrangements and added roles each scratch database gets."""


def read_deployed(database_url: str | None, process: str) -> Deployed:
    """The deployed versions of `process`, the loaded holiday arrangements and the added roles, read without writing
    anything: a SQLite file is opened read-only (and not created when missing); a database without the tables has
    none."""
    if not database_url:
        return Deployed({})
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not url.database or not path.is_file():
            return Deployed({})
        engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    else:
        text_url = database_url
        if text_url.startswith("postgresql://"):
            text_url = "postgresql+psycopg://" + text_url.removeprefix("postgresql://")
        engine = create_engine(text_url)
    table = ProcessDefinition
    columns = (table.process_id, table.version, table.name, table.file_name, table.bpmn_xml, table.forms, table.sha256)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(*columns).where(ProcessDefinition.process_id == process)).all()
            versions = {row.version: DefinitionSource(row.process_id, row.name, row.file_name, row.bpmn_xml, row.forms,
                                                      row.sha256) for row in rows}
            try:
                scratch = Scratch.read(connection)
            except SQLAlchemyError:  # a database from before the arrangements or the roles had their tables
                scratch = NO_SCRATCH
    except SQLAlchemyError:  # not initialised (no tables): nothing deployed there
        return Deployed({})
    finally:
        engine.dispose()
    return Deployed(versions, scratch)


def resolve_variants(process: str, requested: Sequence[tuple[str, str]], deployed: Deployed) -> list[Variant]:
    """The versions to run, in the order asked: ("version", "3") from the database, ("file", PATH) not deployed.
    Nothing asked: the latest deployed version, else the bundled file."""
    from workflows.bpmn_check import check_source, has_errors
    from workflows.lifecycle import PROCESS_LABELS

    known = set(PROCESS_LABELS) | {p.stem for p in bpmn_dir().glob("*.bpmn")}
    if process not in known and not deployed.versions:
        raise NotFound(f"未知的流程“{process}”；已知的流程：{'、'.join(sorted(known))}")
    if process not in SIMULATABLE:
        label = PROCESS_LABELS.get(process, process)
        raise InvalidInput(
            f"流程“{process}”（{label}）不能单独模拟：它依附于一件已取得的备案，由备案后的事件（续期申请、变更报告、"
            "违规线索、有效期届满等）启动，合成案件无法给出有意义的结果。目前可模拟的流程：filing_application"
            "（职业技能等级评价机构备案申请，由机构提交申请启动）")
    variants: list[Variant] = []
    for kind, value in requested:
        if kind == "version":
            try:
                number = int(value)
            except ValueError:
                raise InvalidInput(f"--version 应为版本号（整数），实为“{value}”") from None
            if number not in deployed.versions:
                have = "、".join(f"第 {v} 版" for v in sorted(deployed.versions)) or "没有任何已部署的版本"
                raise NotFound(f"数据库中没有流程 {process} 的第 {number} 版（该数据库中：{have}）")
            variants.append(_deployed_variant(number, deployed.versions[number]))
        else:
            path = Path(value)
            if not path.is_file():
                raise NotFound(f"BPMN 文件 {path} 不存在")
            source = read_source(path)
            if source.process_id != process:
                raise InvalidInput(f"文件 {path.name} 定义的是流程 {source.process_id}，不是 {process}")
            findings = check_source(source.bpmn_xml, source.file_name, source.forms)
            if has_errors(findings):
                errors = [f.message for f in findings if f.severity == "error"]
                raise DefinitionError(f"{path.name} 有 {len(errors)} 处错误，不能模拟：" + "；".join(errors),
                                      problems=errors)
            variants.append(_file_variant(value, source, deployed))
    if not variants:
        if deployed.versions:
            latest = max(deployed.versions)
            variants.append(_deployed_variant(latest, deployed.versions[latest]))
        else:
            path = bpmn_dir() / f"{process}.bpmn"
            variants.append(Variant(f"内置文件 {path.name}", ("未部署",), f"内置 {path.name}", "bundled", None,
                                    str(path), read_source(path)))
    return _distinct(variants)


# --- the whole simulation ----------------------------------------------------------------------------------------


def _check_window(first: date, last: date, profile: Profile) -> None:
    """Arrivals over [first, last], and the run after it, within the years the working-day calendar covers."""
    if last < first:
        raise InvalidInput(f"--until（{last.isoformat()}）早于 --from（{first.isoformat()}）")
    if first.year < MIN_YEAR or last.year > MAX_YEAR:
        raise InvalidInput(f"--from 与 --until 应在工作日历支持的 {MIN_YEAR}—{MAX_YEAR} 年之内，"
                           f"实为 {first.isoformat()} 至 {last.isoformat()}")
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise InvalidInput(f"--from 至 --until 最长 {MAX_WINDOW_DAYS} 天，实为 {(last - first).days + 1} 天")
    if (last + timedelta(days=1 + profile.days_after_until)).year > MAX_YEAR:
        raise InvalidInput(f"模拟在 --until 之后还要运行 {profile.days_after_until} 天（模拟配置 "
                           f"horizon.days_after_until），将超出工作日历支持的 {MAX_YEAR} 年")


def simulate(process: str, *, cases: int, first: date, last: date, profile: Profile,
             requested: Sequence[tuple[str, str]] = (), database_url: str | None = None,
             seed: int = DEFAULT_SEED, workers: int | None = None,
             on_progress: OnProgress = no_progress) -> dict[str, Any]:
    """Run `cases` synthetic applications received on the working days of [first, last] through each version and
    return the report (see docs/simulation.md); the run goes on after `last` until every case has ended, at most
    `profile.days_after_until` days. The cases are dealt out to `workers` processes (default: one per core), each
    with its own scratch database; the report is the same for any number of workers."""
    if isinstance(cases, bool) or not isinstance(cases, int) or not 1 <= cases <= MAX_CASES:
        raise InvalidInput(f"案件数（--cases）应为 1 至 {MAX_CASES} 的整数，实为 {cases}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidInput(f"进程数（--workers）应为正整数，实为 {workers}")
    _check_window(first, last, profile)
    deployed = read_deployed(database_url, process)
    profile.check_roles(deployed.scratch.role_keys)
    deployed.scratch.hold_roles()  # the lanes of this database's added roles, in the plan as in the workers
    variants = resolve_variants(process, requested, deployed)
    plans = [plan_for(v.source, profile) for v in variants]
    until_end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    horizon = until_end + timedelta(days=profile.days_after_until)
    window = (datetime.combine(first, time(0), tzinfo=SHANGHAI), until_end)
    results = []
    with tempfile.TemporaryDirectory(prefix="beian-simulate-") as workdir, outside_systems_off():
        from tasks.calendar import WorkingDayCalendar, parse_arrangement

        calendar = WorkingDayCalendar({y["year"]: parse_arrangement(y["arrangement"])
                                       for y in deployed.scratch.calendar_years})
        office = OfficeTime(calendar, profile.office_start, profile.office_end)
        arrivals = plan_arrivals(profile, office, cases, first, last, seed)
        with Workers(min(workers or default_workers(), cases)) as pool:
            for index, (variant, plan) in enumerate(zip(variants, plans, strict=True)):
                shards, seconds = run_version(pool, variant.source, f"模拟{variant.label}", plan, profile, arrivals,
                                              seed, window, horizon, Path(workdir), f"variant-{index + 1}",
                                              deployed.scratch, on_progress)
                results.append(figures(variant.to_dict(), plan, window, shards, seconds))
    return {
        "process": process,
        "cases": cases,
        "from": first.isoformat(),
        "until": last.isoformat(),
        "horizon": local(horizon),
        "seed": seed,
        "profile": profile.source,
        "office_hours": f"{profile.office_start:%H:%M}-{profile.office_end:%H:%M}",
        "arrival_pattern": profile.arrival_pattern,
        "databases": SCRATCH_DATABASES,
        "versions": results,
        "differences": [difference(results[0], other) for other in results[1:]],
    }
