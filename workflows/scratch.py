"""What a scratch database takes from the user's database: the holiday arrangements loaded and the roles an
administrator added. A check's trial run (workflows/service/trial_run.py) and each simulation worker
(workflows/simulation_run.py) put them into their own database, so that a synthetic case counts the same working
days and its lanes stand for the same roles as a real one would."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from adapters.outside.db import AddedRole, CalendarYear
from adapters.outside.repository import UnitOfWork
from workflows.roles import ADDED_ROLES, hold_added_roles


@dataclass(frozen=True)
class Scratch:
    """The rows to copy, each a dict of its columns (plain data: a simulation sends it to its worker processes)."""

    calendar_years: tuple[dict[str, Any], ...] = ()
    roles: tuple[dict[str, Any], ...] = ()

    def digest(self) -> str:
        return hashlib.sha256(json.dumps([self.calendar_years, self.roles], sort_keys=True, default=str)
                              .encode("utf-8")).hexdigest()

    @property
    def role_keys(self) -> tuple[str, ...]:
        return tuple(str(role["key"]) for role in self.roles)

    @classmethod
    def read(cls, connection: Connection) -> Scratch:
        """From the user's database, only read."""
        years = connection.execute(select(CalendarYear.__table__).order_by(CalendarYear.year)).mappings()
        roles = connection.execute(ADDED_ROLES).mappings()
        return cls(tuple(dict(y) for y in years), tuple(dict(r) for r in roles))

    def put_into(self, uow: UnitOfWork) -> None:
        """Into a scratch database that has the schema; committed, and its roles held by this process (the same as
        the user's database: nothing held changes where both are in one process)."""
        for year in self.calendar_years:
            uow.repo.add(CalendarYear(**year))
        for role in self.roles:
            uow.repo.add(AddedRole(**role))
        uow.commit()
        self.hold_roles()

    def hold_roles(self) -> None:
        """This process holds the added roles as the user's database has them (what opening it does)."""
        hold_added_roles(self.roles)


# A user's database with no arrangements loaded and no roles added (the default of a trial run).
NO_SCRATCH = Scratch()
