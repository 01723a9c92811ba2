"""Signed-in sessions of the web app, kept in the database (table `web_sessions`).

A session lasts at most SESSION_HOURS from its sign-in (a working day) and ends after IDLE_MINUTES without a request;
signing out ends it; a password change, disabling the account and an administrator's "sign out everywhere" end every
session of the account at once. Because sessions live in the database, every web server of a deployment sees the
same ones, and an ended session is refused by all of them at its next request.

The browser's cookie holds a random token (256 bits) and nothing else; the database keeps only HMAC-SHA256(secret,
token), so neither a copy of the table nor a guess opens a session, and changing the web app's secret
(BEIAN_WEB_SECRET) ends every session. Ended and expired rows are kept KEEP_ENDED for the record, then deleted at a
later sign-in (a bounded DELETE on an indexed column).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, select, update

from adapters.outside.db import WebSession
from adapters.outside.repository import UnitOfWork
from tasks.text import printable
from workflows import clock
from workflows.service.base import local

if TYPE_CHECKING:
    from workflows.service import Beian

SESSION_HOURS: Final = 8
IDLE_MINUTES: Final = 60
# A request refreshes `last_seen_at` at most this often, so reading pages does not write on every request.
TOUCH_EVERY: Final = timedelta(minutes=1)
KEEP_ENDED: Final = timedelta(days=7)
MAX_TOKEN_LENGTH: Final = 100  # what a cookie may bring before it is even hashed
ENDED_REASONS: Final = {"signed_out": "本人退出登录", "password": "密码已更改", "disabled": "账号已停用",
                        "admin": "管理员全部登出", "expired": "已到期", "idle": "长时间未操作"}


@dataclass(frozen=True)
class SignedIn:
    """A live session as the web app needs it, and as an administrator's list shows it."""

    id: int
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: str
    user_agent: str

    def to_dict(self) -> dict[str, object]:
        """As people read it: the moments in Beijing time."""
        return {"id": self.id, "username": self.username, "created_at": local(self.created_at),
                "last_seen_at": local(self.last_seen_at), "expires_at": local(self.expires_at),
                "idle_until": local(self.last_seen_at + timedelta(minutes=IDLE_MINUTES)),
                "client": self.client, "user_agent": self.user_agent}


def start_session(app: Beian, secret: str, username: str, client: str = "",
                  user_agent: str = "") -> tuple[str, SignedIn]:
    """A new session for a caseworker who has just signed in: its token (for the cookie) and the session."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with app.uow() as uow:
        uow.session.execute(delete(WebSession).where(WebSession.expires_at < now - KEEP_ENDED))
        row = WebSession(token_hash=_key(secret, token), username=username, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now, expires_at=now + timedelta(hours=SESSION_HOURS),
                         client=printable(client)[:64], user_agent=printable(user_agent)[:200])
        uow.repo.add(row)
        uow.session.flush()
        signed_in = _view(row)
        uow.commit()
    return token, signed_in


def session_of(app: Beian, secret: str, token: str | None) -> SignedIn | None:
    """The live session a cookie's token opens, or None (no such session, ended, expired or idle too long).

    Read without the write lock; only a session that has just lapsed, or was last seen TOUCH_EVERY ago, is written."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = clock.now()
    with app.reading() as uow:
        row = uow.session.scalars(select(WebSession).where(WebSession.token_hash == _key(secret, token))).first()
        if row is None or row.ended_at is not None:
            return None
        signed_in = _view(row)
        lapsed = "expired" if now >= row.expires_at else "idle" if now >= _idle_until(row) else None
    if lapsed is None and now - signed_in.last_seen_at < TOUCH_EVERY:
        return signed_in
    with app.uow() as uow:
        live = (WebSession.id == signed_in.id, WebSession.ended_at.is_(None))
        if lapsed:
            uow.session.execute(update(WebSession).where(*live).values(ended_at=now, ended_reason=lapsed))
        else:
            uow.session.execute(update(WebSession).where(*live).values(last_seen_at=now))
        uow.commit()
    return None if lapsed else replace(signed_in, last_seen_at=now)


def end_session(app: Beian, secret: str, token: str | None) -> None:
    """Sign out: the session of this token ends (nothing happens for a token that opens none)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    with app.uow() as uow:
        uow.session.execute(update(WebSession)
                            .where(WebSession.token_hash == _key(secret, token), WebSession.ended_at.is_(None))
                            .values(ended_at=clock.now(), ended_reason="signed_out"))
        uow.commit()


def end_sessions(uow: UnitOfWork, username: str, reason: str) -> int:
    """End every live session of `username` inside the caller's transaction (a password change, disabling the
    account); how many were live."""
    now = clock.now()
    result = uow.session.execute(update(WebSession)
                                 .where(WebSession.username == username, WebSession.ended_at.is_(None),
                                        WebSession.expires_at > now)
                                 .values(ended_at=now, ended_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult for an UPDATE


def sign_out_everywhere(app: Beian, username: str, actor: str) -> int:
    """An administrator ends every session of `username` (audited); how many there were."""
    with app.uow() as uow:
        ended = end_sessions(uow, username, "admin")
        uow.repo.audit(at=clock.now(), case_id=None, actor=actor, action="sessions_ended",
                       summary=f"用户 {username} 的 {ended} 个登录会话已全部登出", article="",
                       detail={"username": username, "sessions": ended})
        uow.commit()
        return ended


def live_sessions(app: Beian, username: str | None = None) -> list[SignedIn]:
    """The sessions in force now, newest first: all of them, or one caseworker's."""
    now = clock.now()
    query = (select(WebSession)
             .where(WebSession.ended_at.is_(None), WebSession.expires_at > now,
                    WebSession.last_seen_at > now - timedelta(minutes=IDLE_MINUTES))
             .order_by(WebSession.created_at.desc(), WebSession.id.desc()))
    if username is not None:
        query = query.where(WebSession.username == username)
    with app.reading() as uow:
        return [_view(row) for row in uow.session.scalars(query)]


def _key(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(errors="replace"), hashlib.sha256).hexdigest()


def _idle_until(row: WebSession) -> datetime:
    return row.last_seen_at + timedelta(minutes=IDLE_MINUTES)


def _view(row: WebSession) -> SignedIn:
    return SignedIn(row.id, row.username, row.csrf_token, row.created_at, row.last_seen_at, row.expires_at,
                    row.client, row.user_agent)
