"""Process definitions: deploy a version (after the same checks as `beian bpmn check`), list versions, check a
file against the cases running on its process, diff two versions, and migrate running cases between them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import workflows.operators  # noqa: F401  (registers the expression functions and service operators every step needs)
from adapters.outside.db import Instance, ProcessDefinition
from adapters.outside.repository import UnitOfWork
from tasks.errors import DefinitionError, InvalidInput, NotFound
from workflows import clock
from workflows.bpmn_check import Finding, check_source, has_errors, size_findings
from workflows.definitions import DefinitionSource, main_process_id, parse_definition, source_digest
from workflows.engine import definition_of
from workflows.messages import MESSAGES
from workflows.migration import CasePlan, MigrateTo, plan_case, version_diff
from workflows.on_progress import OnProgress, no_progress
from workflows.scratch import Scratch
from workflows.service.base import Capability, audit_system, local
from workflows.service.rehearsal import rehearse
from workflows.service.trial_run import trial_findings
from workflows.state import load_state


class Processes(Capability):
    """The deployed BPMN processes and their versions."""

    def deploy(self, source: DefinitionSource, actor: str, *, trial: bool = True) -> dict[str, Any]:
        """Deploy a new version, after the same checks as `beian bpmn check` (the running cases and the synthetic
        cases tried on it included): a file with errors is refused. `trial=False` is for the bundled files `init`
        deploys: the test suite tries each of them (tests/integration/test_trial_run.py), and a trial's own scratch
        database deploys them too."""
        with self.reading() as uow:
            latest = uow.repo.latest_definition(source.process_id)
            if latest is not None and latest.sha256 == source.sha256:  # deployed already: checked then
                return {"process": source.process_id, "version": latest.version, "deployed": False,
                        "new_process": False}
        # Checked before the deploying transaction opens: trying the running cases needs a transaction of its own.
        findings = self.check(source.bpmn_xml, source.file_name, source.forms, trial=trial)
        if has_errors(findings):
            errors = [f.message for f in findings if f.severity == "error"]
            raise DefinitionError(f"{source.file_name} 有 {len(errors)} 处错误，未部署：" + "；".join(errors),
                                  problems=errors)
        with self.uow() as uow:
            latest = uow.repo.latest_definition(source.process_id)  # again: another deployment may have come first
            if latest is not None and latest.sha256 == source.sha256:
                return {"process": source.process_id, "version": latest.version, "deployed": False,
                        "new_process": False}
            version = (latest.version + 1) if latest else 1
            row = ProcessDefinition(process_id=source.process_id, version=version, name=source.name,
                                    file_name=source.file_name, bpmn_xml=source.bpmn_xml, forms=source.forms,
                                    sha256=source.sha256, deployed_at=clock.now(), deployed_by=actor)
            uow.repo.add(row)
            uow.session.flush()
            definition_of(uow, row.id)  # refuse to deploy what does not parse
            audit_system(uow, actor, "definition_deployed",
                          f"部署流程 {source.process_id} 第 {version} 版（{source.file_name}）",
                          process=source.process_id, version=version, sha256=source.sha256)
            uow.commit()
            return {"process": source.process_id, "version": version, "deployed": True, "new_process": latest is None}

    def versions(self, process_id: str) -> list[dict[str, Any]]:
        """Every deployed version of a process, oldest first, with its running and total instances."""
        with self.reading() as uow:
            rows = uow.repo.definitions(process_id)
            if not rows:
                raise NotFound(f"流程 {process_id} 尚未部署")
            counts = uow.repo.instance_counts(process_id)
            latest = rows[-1].version
            return [{"process": row.process_id, "version": row.version, "name": row.name, "file": row.file_name,
                     "sha256": row.sha256, "deployed_at": local(row.deployed_at), "deployed_by": row.deployed_by,
                     "running": counts.get(row.id, (0, 0))[0], "instances": counts.get(row.id, (0, 0))[1],
                     "latest": row.version == latest} for row in rows]

    def check(self, xml: str, file_name: str, forms: dict[str, Any], *, trial: bool = True) -> list[Finding]:
        """`beian bpmn check` for one file: the static rules, with the element ids the running cases of its process
        stand on; then, without errors, the running cases tried on it and (`trial`) synthetic cases run through its
        paths."""
        too_large = size_findings(xml, file_name, forms)
        if too_large:  # before anything parses it
            return too_large
        try:
            process_id = main_process_id(xml, file_name)
        except DefinitionError:
            process_id = None  # the check itself reports why the file does not parse
        findings = check_source(xml, file_name, forms, self.running_ids(process_id) if process_id else set(),
                                self.ids())
        if not has_errors(findings):
            findings += self.running_case_findings(xml, file_name, forms)
        if trial and not has_errors(findings):
            findings += self.trial_findings(xml, file_name, forms)
        return findings

    def trial_findings(self, xml: str, file_name: str, forms: Mapping[str, Any]) -> list[Finding]:
        """The file run through its paths with synthetic cases in a scratch database, on this database's holiday
        arrangements and roles (workflows/service/trial_run.py)."""
        with self.reading() as uow:
            scratch = Scratch.read(uow.session.connection())
        return trial_findings(xml, file_name, forms, scratch)

    def running_case_findings(self, xml: str, file_name: str, forms: Mapping[str, Any]) -> list[Finding]:
        """The file tried on the running cases of its process before it is deployed: inside a transaction that is
        rolled back, the file becomes the next version and one case for each place cases stand on (at most
        REHEARSED_CASES) is migrated to it and tried on from there (workflows/service/rehearsal.py). The new
        diagram failing on a case is an error naming the element and the case. A case the diagrams do not allow
        to move as it stands (a step that changed in kind, gained boundary events) is a warning: it finishes on
        its version."""
        try:
            process_id = main_process_id(xml, file_name)
            parsed = parse_definition(process_id, xml, file_name, dict(forms))
        except DefinitionError:
            return []  # the static check says why
        findings: list[Finding] = []
        with self.uow() as uow:  # never committed
            latest = uow.repo.latest_definition(process_id)
            if latest is None:
                return []
            running = _one_per_place(uow, uow.repo.running_instances(latest.id))
            if not running:
                return []
            row = ProcessDefinition(process_id=process_id, version=latest.version + 1, name=parsed.name,
                                    file_name=file_name, bpmn_xml=xml, forms=dict(forms),
                                    sha256=source_digest(xml, dict(forms)), deployed_at=clock.now(),
                                    deployed_by="check")
            uow.repo.add(row)
            uow.session.flush()
            old, new = definition_of(uow, latest.id), definition_of(uow, row.id)
            event = MigrateTo(latest.id, latest.version, row.id, row.version, new)
            for instance in running:
                case_id, where = instance.case_id, _places(uow, instance)
                workflow = load_state(instance.state, old.spec, old.subprocess_specs, uow.repo.state_values)
                plan = plan_case(case_id, instance.status, workflow, new)
                if not plan.migratable:
                    # Said as a warning (the case finishes on its version); a removed step is already said by
                    # running-id-removed.
                    if not any(p.outcome == "removed" for p in plan.positions):
                        findings += [Finding(file_name, _position_of(plan), "warning", "running-case-blocked",
                                             f"运行中的案件 {case_id}（停在{where}）不能原样迁移到新版本：{problem}；"
                                             "它将在原版本上办结") for problem in plan.problems]
                    continue
                savepoint = uow.session.begin_nested()
                try:
                    tried = rehearse(uow, case_id, event, "check")
                finally:
                    savepoint.rollback()
                findings += [Finding(file_name, failure.element_id, "error", "running-case-fails",
                                     f"运行中的案件 {case_id}（停在{where}）在新版本上试运行：{failure.message}")
                             for failure in tried.failures]
        return findings

    def running_ids(self, process_id: str) -> set[str]:
        """The element ids running cases of the process stand on (open tasks, armed timers, awaited messages)."""
        with self.reading() as uow:
            return set(uow.repo.running_positions(process_id))

    def ids(self) -> list[str]:
        """Every process with at least one deployed version."""
        with self.reading() as uow:
            return uow.repo.process_ids()

    def version(self, process_id: str, version: int | None = None) -> dict[str, Any]:
        """One deployed version (the latest when `version` is None) with its BPMN and forms."""
        with self.reading() as uow:
            row = self._row(uow, process_id, version)
            return {"process": row.process_id, "version": row.version, "name": row.name, "file": row.file_name,
                    "bpmn_xml": row.bpmn_xml, "forms": dict(row.forms), "sha256": row.sha256}

    def _row(self, uow: UnitOfWork, process_id: str, version: int | None) -> ProcessDefinition:
        rows = uow.repo.definitions(process_id)
        if not rows:
            raise NotFound(f"流程 {process_id} 尚未部署")
        row = rows[-1] if version is None else next((r for r in rows if r.version == version), None)
        if row is None:
            raise NotFound(f"流程 {process_id} 没有第 {version} 版（已有：{'、'.join(str(r.version) for r in rows)}）")
        return row

    def diff(self, process_id: str, from_version: int, to_version: int) -> dict[str, Any]:
        """What changed between two versions, element by element, with the running cases on each changed one."""
        with self.reading() as uow:
            old, new = self._row(uow, process_id, from_version), self._row(uow, process_id, to_version)
            return version_diff(old, definition_of(uow, old.id), new, definition_of(uow, new.id),
                                uow.repo.running_positions(process_id, old.id))

    def migration_preview(self, process_id: str, from_version: int, to_version: int,
                          case_ids: Sequence[str] | None = None) -> dict[str, Any]:
        return self.migrate(process_id, from_version, to_version, actor="preview", dry_run=True, case_ids=case_ids)

    def migrate(self, process_id: str, from_version: int, to_version: int, actor: str,
                dry_run: bool = False, case_ids: Sequence[str] | None = None,
                on_progress: OnProgress = no_progress) -> dict[str, Any]:
        """Move the running cases of one version to another (each case in its own step, so one case that cannot
        move leaves the others moved), or with `dry_run` say what that would do to each case and position.
        `case_ids` limits it to those cases (each must be running on the source version)."""
        if from_version == to_version:
            raise InvalidInput(f"迁移的源版本与目标版本相同（第 {from_version} 版）")
        with self.uow() as uow:
            source, target = self._row(uow, process_id, from_version), self._row(uow, process_id, to_version)
            old_definition, new_definition = definition_of(uow, source.id), definition_of(uow, target.id)
            event = MigrateTo(source.id, from_version, target.id, to_version, new_definition)
            plans: list[CasePlan] = []
            running = uow.repo.running_instances(source.id)
            if case_ids is not None:
                wanted = set(case_ids)
                missing = sorted(wanted - {instance.case_id for instance in running})
                if missing:
                    raise InvalidInput(f"以下案件不是第 {from_version} 版上运行中的案件：{'、'.join(missing)}")
                running = [instance for instance in running if instance.case_id in wanted]
            for checked, instance in enumerate(running):
                on_progress(checked, len(running), "核对运行中的案件")
                try:
                    workflow = load_state(instance.state, old_definition.spec, old_definition.subprocess_specs,
                                          uow.repo.state_values)
                except Exception as exc:  # noqa: BLE001 — reported as this case's problem; the others still move
                    plans.append(CasePlan(instance.case_id, instance.status, problems=[f"案件状态无法恢复：{exc}"]))
                    continue
                plans.append(plan_case(instance.case_id, instance.status, workflow, new_definition))
            on_progress(len(running), len(running), "核对运行中的案件")
        migrated: list[str] = []
        # Each case the diagrams allow to move is moved for real in its own transaction and tried on from there
        # (workflows/service/rehearsal.py); a preview rolls it back, a migration keeps it only without problems.
        what = "试迁移案件" if dry_run else "迁移案件"
        for moved, plan in enumerate(plans):
            on_progress(moved, len(plans), what)
            if not plan.migratable:
                continue
            with self.uow() as uow:
                rehearsal = rehearse(uow, plan.case_id, event, actor)
                plan.problems.extend(rehearsal.problems)
                plan.notes.extend(rehearsal.released)
                if not dry_run and plan.migratable:
                    uow.commit()
                    migrated.append(plan.case_id)
        on_progress(len(plans), len(plans), what)
        if not dry_run:
            with self.uow() as uow:
                audit_system(uow, actor, "process_migration",
                              f"迁移流程 {process_id}：第 {from_version} 版 → 第 {to_version} 版，"
                              f"迁移 {len(migrated)} 件，未迁移 {len(plans) - len(migrated)} 件",
                              process=process_id, from_version=from_version, to_version=to_version,
                              migrated=migrated)
                uow.commit()
        return {"process": process_id, "from_version": from_version, "to_version": to_version, "dry_run": dry_run,
                "cases": [plan.to_dict() for plan in plans], "migrated": migrated,
                "migratable": sum(1 for plan in plans if plan.migratable),
                "blocked": sum(1 for plan in plans if not plan.migratable)}


REHEARSED_CASES = 20
"""Running cases a check tries the new version on: one per distinct place cases stand on, oldest first."""


def _position_of(plan: CasePlan) -> str | None:
    """The element a blocked case stands on (for marking it on the diagram), when it stands on one."""
    return plan.positions[0].bpmn_id if plan.positions else None


def _places(uow: UnitOfWork, instance: Instance) -> str:
    """Where a case stands, as a person names it: its open tasks, armed timers and awaited messages."""
    names = [f"“{t.name}”" for t in uow.repo.human_tasks(instance.id)]
    names += [f"“{t.name}”" for t in uow.repo.timers(instance.id)]
    names += [f"“等待{MESSAGES.get(w.message, w.message)}”" for w in uow.repo.message_waits(instance.id)]
    return "、".join(names) or "（无）"


def _one_per_place(uow: UnitOfWork, instances: Sequence[Instance]) -> list[Instance]:
    """The first case standing on each distinct set of places (with its region: expressions read the region's
    settings), at most REHEARSED_CASES: cases standing on the same steps take the same ways on."""
    chosen: dict[tuple[str, frozenset[str]], Instance] = {}
    for instance in instances:
        key = (instance.region, frozenset(uow.repo.running_positions_of(instance.id)))
        chosen.setdefault(key, instance)
        if len(chosen) >= REHEARSED_CASES:
            break
    return list(chosen.values())
