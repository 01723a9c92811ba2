"""The application bound to one database: the one entry point of the service layer, and its set-up."""

from __future__ import annotations

from typing import Any

import workflows.operators  # noqa: F401  (registers the expression functions and service operators)
from adapters.outside.db import READ_ONLY, make_engine, make_session_factory
from adapters.outside.repository import UnitOfWork
from adapters.outside.schema import upgrade
from tasks.calendar import SHANGHAI
from workflows import clock
from workflows.definitions import DefinitionSource, bundled_sources
from workflows.engine import StepContext, definition_of, sync_message_waits
from workflows.lifecycle import procedure_ground, start_case
from workflows.roles import load_added_roles
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
from workflows.state import load_state


class Beian:
    """The application, bound to one database: `cases`, `materials`, `supplements`, `objections`, `processes`,
    `operations`, `records`, `search`, `calendar`, `documents` (corrections), `issuers`, `catalogue`, `public`
    and `portal` are what a user can do with it (see the package's docstring)."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self._sessions = make_session_factory(self.engine)
        self._reading_sessions = make_session_factory(self.engine.execution_options(**{READ_ONLY: True}))
        self.cases = Cases(self.uow, self.reading)
        self.materials = Materials(self.uow, self.reading)
        self.processes = Processes(self.uow, self.reading)
        self.operations = Operations(self.uow, self.reading)
        self.records = Records(self.uow, self.reading)
        self.search = Search(self.uow, self.reading)
        self.supplements = Supplements(self.uow, self.reading)
        self.objections = Objections(self.uow, self.reading)
        self.calendar = Calendar(self.uow, self.reading)
        self.documents = Documents(self.uow, self.reading)
        self.issuers = Issuers(self.uow, self.reading)
        self.catalogue = Catalogue(self.uow, self.reading)
        self.public = Public(self.uow, self.reading, self.objections)
        self.portal = Portal(self.uow, self.reading, self.cases, self.supplements)
        with self.reading() as uow:  # the roles an administrator added, for lanes and names (workflows/roles.py)
            load_added_roles(uow)

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
        with self.uow() as uow:
            if uow.repo.next_value("projection:message_waits") == 1:
                for instance in uow.repo.open_instances():
                    definition = definition_of(uow, instance.definition_id)
                    try:
                        workflow = load_state(instance.state, definition.spec, definition.subprocess_specs)
                    except Exception:  # noqa: BLE001 — a state that cannot be restored fails its next step, visibly
                        continue  # (the stuck watch reports it); it must not stop the upgrade of every other case
                    sync_message_waits(workflow, StepContext(uow, instance, definition, actor, instance.updated_at))
            uow.commit()

    def _watch_unwatched_filings(self, actor: str) -> None:
        """Open the validity watch of every live filing that has none (filings made before the lifecycle existed)."""
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
