"""The caseworkers' web app (FastAPI + Jinja2): `python -m adapters.web --host H --port P`, started by `beian up`."""

from adapters.web.app import create_app

__all__ = ["create_app"]
