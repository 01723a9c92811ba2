"""The web app (FastAPI + Jinja2): `python -m adapters.entrypoints.web --host H --port P`, started by `beian up`."""

from adapters.entrypoints.web.app import create_app

__all__ = ["create_app"]
