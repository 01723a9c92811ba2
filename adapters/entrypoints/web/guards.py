"""What the web app refuses before any route runs: an address no link of this site has (control or bidirectional
override characters, an encoding that is not UTF-8), and a request body over the size its route takes.

A body is counted as it arrives, so a large upload is refused after reading at most its limit (a declared
`Content-Length` over the limit is refused before reading anything): no route ever holds an unbounded body in memory.
Both refusals are Chinese pages (`render` is the app's error page) and change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from starlette.responses import Response

from tasks.limits import MAX_APPLICATION_BYTES, MAX_DIAGRAM_BYTES, MAX_FORM_BYTES, MIB, amount, json_size_problem
from tasks.materials import MAX_INTAKE_MATERIAL_BYTES, MAX_MATERIAL_BYTES
from tasks.text import code_point, refused_character

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Render = Callable[[Scope, int, str, str], Response]

# A browser's encoding of what each kind of route takes: a form's text percent-encoded (a Chinese character is 9
# bytes), a diagram with its forms as a file upload, as the modeller's JSON, or as the deploy form's base64; a
# material as a file upload (the multipart framing is well under a MiB), the intake form with the files it carries.
FORM_BODY_BYTES: Final = 4 * MAX_FORM_BYTES
APPLICATION_BODY_BYTES: Final = 4 * MAX_APPLICATION_BYTES + MAX_INTAKE_MATERIAL_BYTES + MIB
DIAGRAM_BODY_BYTES: Final = 2 * MAX_DIAGRAM_BYTES + MIB
MATERIAL_BODY_BYTES: Final = MAX_MATERIAL_BYTES + MIB


def body_limit(path: str) -> int:
    """The largest request body the route at `path` takes."""
    if path.startswith("/processes/"):
        return DIAGRAM_BODY_BYTES
    if path.startswith("/applications/") or path == "/portal/apply" or (
            path.startswith(("/cases/", "/portal/cases/")) and path.endswith("/resubmission")):
        return APPLICATION_BODY_BYTES
    if path.startswith("/cases/") and path.endswith("/materials"):
        return MATERIAL_BODY_BYTES
    if path.startswith("/cases/") and path.endswith("/objections/new"):
        return MAX_INTAKE_MATERIAL_BYTES + MIB
    return FORM_BODY_BYTES


def address_problem(scope: Scope) -> str | None:
    """Why the request's path or query cannot be an address of this site, in Chinese, or None."""
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "surrogatepass")
    for raw in (raw_path, scope.get("query_string", b"")):
        try:
            text = unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return "网址中含有无法识别的字符编码（不是 UTF-8），请检查链接是否完整"
        char = refused_character(text)
        if char is not None:
            return f"网址中含有不允许的字符 {code_point(char)}（控制字符或改变文字方向的字符），请检查链接是否正确"
    return None


class _BodyTooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware: the address check and the body limit (see the module's docstring)."""

    def __init__(self, app: ASGIApp, render: Render, limit: Callable[[str], int] = body_limit) -> None:
        self.app = app
        self.render = render
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = address_problem(scope)
        if problem:
            await self.render(scope, 400, "网址有误", problem + "；未作任何更改")(scope, receive, send)
            return
        limit = self.limit(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send, declared, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if started:
                raise
            await self._too_large(scope, receive, send, None, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, size: int | None, limit: int) -> None:
        """413: `size` is the declared length, or None when the body was cut off as it arrived."""
        problem = (json_size_problem(size, limit, "提交的内容") if size is not None
                   else f"提交的内容超过上限 {amount(limit)}")
        response = self.render(scope, 413, "提交的内容过大", f"{problem}，未作任何更改")
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
