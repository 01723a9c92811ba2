"""What the web app's page modules share: where the static files are, the errors a route raises for the sign-in
page and the 403 page, and reading a posted form or body before a route that is a plain function runs."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from workflows.sessions import SESSION_HOURS

if TYPE_CHECKING:
    from tasks.access import Caseworker
    from workflows.service import Beian

STATIC = Path(__file__).resolve().parent / "static"
MAX_ID = 2**31 - 1  # the largest id (and version number) a database integer column holds
# Before signing in there is no session: a form's CSRF token is a cookie of its own (double submit).
ANONYMOUS_CSRF_COOKIE = "beian_csrf"


def set_session_cookie(response: Response, name: str, value: str, *, path: str, secure: bool) -> None:
    """A cookie holding a session or CSRF token: for the session's lifetime, not readable by scripts, not sent by
    another site's form, only over HTTPS where the app is served so (BEIAN_WEB_SECURE_COOKIES=1)."""
    response.set_cookie(name, value, max_age=SESSION_HOURS * 3600, path=path, httponly=True, samesite="lax",
                        secure=secure)


class AccessDenied(Exception):
    """The signed-in caseworker may not do or see this (403, with the reason in Chinese)."""


def admin_only(user: Caseworker, refusal: str) -> Caseworker:
    """`user`, an administrator; AccessDenied with `refusal` (what the page is for) for anyone else."""
    if not user.is_admin:
        raise AccessDenied(refusal)
    return user


class SignInRequired(Exception):
    pass


async def read_form(request: Request) -> None:
    """Parse a posted form (a route's dependency, so that the route itself can be a plain function run in the thread
    pool): its text fields for `form_of`, and the whole form (files too) for the routes that take uploads."""
    form = await request.form()
    request.state.form = form
    request.state.form_items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


async def read_body(request: Request) -> None:
    """Read a posted body (JSON from the modeller) for a route that is a plain function (see `read_form`)."""
    request.state.body = await request.body()


def is_token(value: str) -> bool:
    """A token this app could have made (token_urlsafe(32): 43 URL-safe characters), not whatever a cookie holds."""
    return len(value) == 43 and value.isascii() and all(c.isalnum() or c in "-_" for c in value)


def check_token(sent: str, expected: str) -> bool:
    """A CSRF token sent with a request against the expected one, in constant time."""
    return secrets.compare_digest(sent.encode(errors="replace"), expected.encode())


def csrf_passes(items: list[tuple[str, str]], expected: str) -> bool:
    """Whether a posted form carries the CSRF token expected for it (a token this app made, compared in constant
    time)."""
    return is_token(expected) and check_token(dict(items).get("csrf_token", ""), expected)


@dataclass(frozen=True)
class Site:
    """What each audience's pages are given by create_app: the application, the page renderer (the signed-in user,
    the CSRF token and the clock go into every page), the signed-in caseworker (or the sign-in page), and the posted
    form after its CSRF check."""

    service: Beian
    page: Callable[..., HTMLResponse]
    user_of: Callable[[Request], Caseworker]
    form_of: Callable[[Request], list[tuple[str, str]]]
