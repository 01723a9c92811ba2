"""The caseworkers' pages: the worklist, a task and its form, a case with its documents and materials, a paper
application registered by the intake clerk, the search of cases. Each module adds its routes with
`register(app, site)`."""

from __future__ import annotations

from fastapi import FastAPI

from adapters.entrypoints.web.base import Site
from adapters.entrypoints.web.caseworkers import (
    applications,
    cases,
    materials,
    publicity,
    resubmission,
    search,
    tasks,
    worklist,
)


def register(app: FastAPI, site: Site) -> None:
    for pages in (worklist, tasks, search, cases, materials, applications, resubmission, publicity):
        pages.register(app, site)
