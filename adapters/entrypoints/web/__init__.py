"""The web app (FastAPI + Jinja2): `python -m adapters.entrypoints.web --host H --port P`, started by `beian up`.

One subpackage per audience: `caseworkers/` (worklist, tasks, cases and documents, intake), `processes/` (the process
owners' versions, check, diff, migration and modeller), `admin/` (sessions); the institution portal will be
`portal/` and the public pages `public/`. `app.py` wires them (sign-in, sessions, CSRF, error pages) and gives each
a `Site` (base.py); `forms/` builds and reads the forms of every audience.
"""

from adapters.entrypoints.web.app import create_app

__all__ = ["create_app"]
