"""The application bound to one database: the one entry point of the service layer, and its set-up."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from adapters.outside.db import READ_ONLY, make_engine, make_session_factory
from adapters.outside.repository import UnitOfWork
from tasks.calendar import SHANGHAI
from workflows import clock
from workflows.roles import load_added_roles

if TYPE_CHECKING:
    from workflows.definitions import DefinitionSource
    from workflows.service.calendar import Calendar
    from workflows.service.cases import Cases
    from workflows.service.catalogue import Catalogue
    from workflows.service.documents import Documents
    from workflows.service.issuers import Issuers
    from workflows.service.materials import Materials
    from workflows.service.objections import Objections
    from workflows.service.operations import Operations
    from workflows.service.portal import Portal
    from workflows.service.processes import Processes
    from workflows.service.public import Public
    from workflows.service.records import Records
    from workflows.service.search import Search
    from workflows.service.supplements import Supplements


class Beian:
    """The application, bound to one database: `cases`, `materials`, `supplements`, `objections`, `processes`,
    `operations`, `records`, `search`, `calendar`, `documents` (corrections), `issuers`, `catalogue`, `public`
    and `portal` are what a user can do with it (see the package's docstring)."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self._sessions = make_session_factory(self.engine)
        self._reading_sessions = make_session_factory(self.engine.execution_options(**{READ_ONLY: True}))
        with self.reading() as uow:  # the roles an administrator added, for lanes and names (workflows/roles.py)
            load_added_roles(uow)

    # Each capability is built (and its module imported) when first used: a command uses one or two, and importing
    # all of them (the engine, the BPMN checker, the HTTP client, JSON Schema, …) was most of a cold command's start.
    @cached_property
    def cases(self) -> Cases:
        from workflows.service.cases import Cases

        return Cases(self.uow, self.reading)

    @cached_property
    def materials(self) -> Materials:
        from workflows.service.materials import Materials

        return Materials(self.uow, self.reading)

    @cached_property
    def processes(self) -> Processes:
        from workflows.service.processes import Processes

        return Processes(self.uow, self.reading)

    @cached_property
    def operations(self) -> Operations:
        from workflows.service.operations import Operations

        return Operations(self.uow, self.reading)

    @cached_property
    def records(self) -> Records:
        from workflows.service.records import Records

        return Records(self.uow, self.reading)

    @cached_property
    def search(self) -> Search:
        from workflows.service.search import Search

        return Search(self.uow, self.reading)

    @cached_property
    def supplements(self) -> Supplements:
        from workflows.service.supplements import Supplements

        return Supplements(self.uow, self.reading)

    @cached_property
    def objections(self) -> Objections:
        from workflows.service.objections import Objections

        return Objections(self.uow, self.reading)

    @cached_property
    def calendar(self) -> Calendar:
        from workflows.service.calendar import Calendar

        return Calendar(self.uow, self.reading)

    @cached_property
    def documents(self) -> Documents:
        from workflows.service.documents import Documents

        return Documents(self.uow, self.reading)

    @cached_property
    def issuers(self) -> Issuers:
        from workflows.service.issuers import Issuers

        return Issuers(self.uow, self.reading)

    @cached_property
    def catalogue(self) -> Catalogue:
        from workflows.service.catalogue import Catalogue

        return Catalogue(self.uow, self.reading)

    @cached_property
    def public(self) -> Public:
        from workflows.service.public import Public

        return Public(self.uow, self.reading, self.objections)

    @cached_property
    def portal(self) -> Portal:
        from workflows.service.portal import Portal

        return Portal(self.uow, self.reading, self.cases, self.supplements)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def reading(self) -> UnitOfWork:
        """A unit of work that only reads: on SQLite it is not held up by a step in progress (nor holds one up)."""
        return UnitOfWork(self._reading_sessions, read_only=True)

    def close(self) -> None:
        self.engine.dispose()

    # --- set-up ------------------------------------------------------------------------------------------
    def init(self, actor: str = "system") -> list[dict[str, Any]]:
        """Create or upgrade the schema and deploy every bundled BPMN file whose content was never deployed.

        Never deployed, not merely different from the latest: a process owner's version deployed since (from the
        web modeller, say) stays the latest across restarts; only a bundled file that changed, with an upgrade of
        the software, becomes a new version."""
        from adapters.outside.schema import upgrade
        from workflows.definitions import bundled_sources

        upgrade(self.engine)
        deployed = [self._deploy_bundled(source, actor) for source in bundled_sources()]
        self._watch_unwatched_filings(actor)
        self._project_message_waits(actor)
        return deployed

    def _deploy_bundled(self, source: DefinitionSource, actor: str) -> dict[str, Any]:
        with self.uow() as uow:
            rows = uow.repo.definitions(source.process_id)
            if any(row.sha256 == source.sha256 for row in rows):
                return {"process": source.process_id, "version": rows[-1].version, "deployed": False}
        return self.processes.deploy(source, actor, trial=False)

    def _project_message_waits(self, actor: str) -> None:
        """Once per database: cases that were running before the message-wait projection existed (migration 0003)
        get their rows. A wait's start is not in the state, so it is taken as the case's last step (no earlier
        than the truth: the stuck watch may report such a wait late, never early)."""
        from workflows.engine import StepContext, definition_of, sync_message_waits
        from workflows.state import load_state

        with self.uow() as uow:
            if uow.repo.next_value("projection:message_waits") == 1:
                for instance in uow.repo.open_instances():
                    definition = definition_of(uow, instance.definition_id)
                    try:
                        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs,
                                              uow.repo.state_values)
                    except Exception:  # noqa: BLE001 — a state that cannot be restored fails its next step, visibly
                        continue  # (the stuck watch reports it); it must not stop the upgrade of every other case
                    sync_message_waits(workflow, StepContext(uow, instance, definition, actor, instance.updated_at))
            uow.commit()

    def _watch_unwatched_filings(self, actor: str) -> None:
        """Open the validity watch of every live filing that has none (filings made before the lifecycle existed)."""
        from workflows.lifecycle import procedure_ground, start_case

        today = clock.now().astimezone(SHANGHAI).date()
        with self.uow() as uow:
            for filing in uow.repo.filings():
                if filing.termination_kind or filing.valid_until < today:
                    continue
                watched = {c.process_id for c in uow.repo.open_cases_of_filing(filing.id)}
                if not watched & {"filing_validity", "renewal", "automatic_termination", "ordered_termination",
                                  "voluntary_termination"}:
                    start_case(uow, filing, "filing_validity", procedure_ground("renewal", filing.region), {}, actor)
            uow.commit()
