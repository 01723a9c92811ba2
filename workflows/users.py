"""Caseworker accounts: create, sign in, list, change password, disable — each in one unit of work, each change
audited (the audit event never carries the password or its hash).

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher and its RFC 9106 defaults). A stored hash made with
other parameters is replaced by a fresh one at the next successful sign-in, so raising the parameters later upgrades
every account that is still in use.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from adapters.outside.db import SignInAttempt, User
from adapters.outside.repository import UnitOfWork
from tasks.access import Caseworker, assignable_roles, authority_name, is_provincial_code, user_region_problem
from tasks.errors import BeianError, InvalidInput, NotFound
from tasks.roles import role_by_key
from tasks.text import printable, text_problem
from workflows import clock
from workflows.sessions import end_sessions

if TYPE_CHECKING:
    from workflows.service import Beian

HASHER: Final = PasswordHasher()  # argon2id
T = TypeVar("T")

USERNAME_PATTERN: Final = re.compile(r"[a-z0-9_.-]{3,40}")
MIN_PASSWORD_LENGTH: Final = 10
# An upper bound keeps a sign-in form from being used to make the server hash megabytes.
MAX_PASSWORD_LENGTH: Final = 256
MAX_DISPLAY_NAME_LENGTH: Final = 100
# Failed sign-ins before a pause: per account (since its last success or unlock), and per client address (any names,
# against guessing across accounts); both within, and paused for, LOCK_WINDOW.
MAX_FAILURES: Final = 5
MAX_CLIENT_FAILURES: Final = 20
LOCK_WINDOW: Final = timedelta(minutes=15)


def caseworker(row: User) -> Caseworker:
    return Caseworker(username=row.username, display_name=row.display_name, roles=tuple(row.roles),
                      region=row.region, is_admin=row.is_admin, active=row.active)


# --- checks ---------------------------------------------------------------------------------------------

def _check_username(username: object) -> str:
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(f"用户名“{username}”不符合要求：应为 3–40 个字符，只含小写字母、数字和 _ . -")
    return username


def check_password(password: object, username: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码太短：至少 {MIN_PASSWORD_LENGTH} 个字符")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"密码太长：最多 {MAX_PASSWORD_LENGTH} 个字符")
    if password.isdigit():
        raise InvalidInput("密码不能全是数字，请混用字母、数字或符号")
    if password.strip().lower() == username.lower():
        raise InvalidInput("密码不能与用户名相同")
    return password


def check_display_name(display_name: object) -> str:
    if not isinstance(display_name, str):
        raise InvalidInput("显示名不能为空")
    name = display_name.strip()
    problem = text_problem(name, required=True)
    if problem:
        raise InvalidInput(f"显示名{problem}")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(f"显示名太长：最多 {MAX_DISPLAY_NAME_LENGTH} 个字符")
    return name


def _check_roles(roles: Sequence[str]) -> tuple[str, ...]:
    if isinstance(roles, str) or not roles:
        raise InvalidInput("请至少指定一个角色，可选：" + _role_choices())
    unknown = [r for r in roles if r not in assignable_roles()]
    if unknown:
        raise InvalidInput(f"未知的角色：{'、'.join(map(str, unknown))}；可选：" + _role_choices())
    return tuple(dict.fromkeys(roles))  # in the given order, each once


def _role_choices() -> str:
    return "、".join(f"{key}（{role_by_key(key).label}）" for key in assignable_roles())


def _check_levels(role_keys: Sequence[str], region: str) -> None:
    """A role added for one level of authority is held only there (a provincial 法制审核员 in a province)."""
    for key in role_keys:
        role = role_by_key(key)
        if role.level == "province" and not is_provincial_code(region):
            raise InvalidInput(f"角色“{role.label}”设在省级，用户的辖区应为省级（如 510000），实为 {region}")
        if role.level == "city" and is_provincial_code(region):
            raise InvalidInput(f"角色“{role.label}”设在市级，用户的辖区应为市（州）或区（县），实为省级 {region}")


def _check_region(region: object) -> str:
    problem = user_region_problem(region)
    if problem:
        raise InvalidInput(problem)
    assert isinstance(region, str)
    return region


# --- operations -----------------------------------------------------------------------------------------

def add_user(app: Beian, username: str, display_name: str, password: str, roles: Sequence[str], region: str, *,
             is_admin: bool = False, actor: str) -> Caseworker:
    """Create an account. Every input is checked (InvalidInput, in Chinese); a taken username is refused."""
    username = _check_username(username)
    name = check_display_name(display_name)
    password = check_password(password, username)
    role_keys = _check_roles(roles)
    region = _check_region(region)
    _check_levels(role_keys, region)
    password_hash = HASHER.hash(password)
    now = clock.now()
    with app.uow() as uow:
        if uow.repo.user(username) is not None:
            raise InvalidInput(f"用户名“{username}”已被使用")
        row = User(username=username, display_name=name, password_hash=password_hash, roles=list(role_keys),
                   region=region, is_admin=is_admin, active=True, created_at=now, created_by=actor,
                   password_changed_at=now)
        uow.repo.add(row)
        _audit(uow, actor, "user_added",
               f"新增用户 {username}（{name}）：{'、'.join(role_by_key(k).label for k in role_keys)}，"
               f"辖区 {authority_name(region)}" + ("，管理员" if is_admin else ""),
               username=username, display_name=name, roles=list(role_keys), region=region, is_admin=is_admin)
        try:
            uow.commit()
        except IntegrityError:  # created at the same moment by someone else
            raise InvalidInput(f"用户名“{username}”已被使用") from None
        return caseworker(row)


class SignInLocked(BeianError):
    """Too many failed sign-ins: for this account, or from this address, until `until`."""

    exit_code = 4

    def __init__(self, until: datetime, *, by_client: bool) -> None:
        self.until = until
        minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
        whom = "来自您所在网络地址的" if by_client else "该账号的"
        super().__init__(f"{whom}登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试"
                         + ("" if by_client else "，或请管理员解除锁定（beian users unlock）"))


def authenticate(app: Beian, username: str, password: str, client: str = "") -> Caseworker | None:
    """The caseworker if `username` and `password` match an active account, else None; SignInLocked while the
    account (or the client address) is locked after repeated failures. Every attempt is recorded."""
    # What no username holds (a control character, a lone surrogate) cannot be looked up or recorded as it is.
    name = printable((username.strip().lower() if isinstance(username, str) else "")[:40])
    return sign_in(app, name, password, client, lambda uow: uow.repo.user(name) if name else None, caseworker)


def sign_in(app: Beian, recorded: str, password: str, client: str, find: Callable[[UnitOfWork], Any],
            view: Callable[[Any], T]) -> T | None:
    """One sign-in, for caseworkers and portal accounts alike: the account `find` looks up (a row with
    `password_hash` and `active`) seen through `view` if the password matches, else None; SignInLocked while the
    name `recorded` (or the client address) is locked after repeated failures. Every attempt is recorded under
    `recorded`.

    An unknown user costs the same as a wrong password (a hash is verified either way), so response times do not
    tell which accounts exist; unknown names are locked like real ones, for the same reason. A hash made with
    outdated parameters is replaced after a successful check."""
    client = printable(client[:64])
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    now = clock.now()
    with app.uow() as uow:
        locked = _lock(uow, recorded, client, now)
        if locked is not None:
            uow.repo.add(SignInAttempt(at=now, username=recorded, client=client, outcome="refused"))
            uow.commit()
            raise locked
        row = find(uow)
        if row is None:
            _verify(_dummy_hash(), password)
            ok = False
        else:
            ok = _verify(row.password_hash, password) and row.active
        uow.repo.add(SignInAttempt(at=now, username=recorded, client=client, outcome="success" if ok else "failure"))
        if not ok:
            uow.session.flush()
            if _lock(uow, recorded, client, now) is not None:
                _audit(uow, "system", "sign_in_locked",
                       f"用户名“{recorded}”连续登录失败 {MAX_FAILURES} 次（或同一地址失败过多），暂停登录 "
                       f"{LOCK_WINDOW.seconds // 60} 分钟", username=recorded, client=client)
            uow.commit()
            return None
        assert row is not None
        if HASHER.check_needs_rehash(row.password_hash):
            row.password_hash = HASHER.hash(password)
            _audit(uow, "system", "password_rehashed", f"用户 {recorded} 的密码哈希已按当前参数更新",
                   username=recorded)
        seen = view(row)
        uow.commit()
        return seen


def _lock(uow: UnitOfWork, name: str, client: str, now: datetime) -> SignInLocked | None:
    """The lock in force at `now`: MAX_FAILURES failures of one name since its last success or unlock, or
    MAX_CLIENT_FAILURES failures from one address, within LOCK_WINDOW; the lock lasts LOCK_WINDOW from the latest."""
    since = now - LOCK_WINDOW
    failures = uow.repo.sign_in_failures(username=name, since=since)
    if len(failures) >= MAX_FAILURES:
        return SignInLocked(failures[-1] + LOCK_WINDOW, by_client=False)
    if client:
        failures = uow.repo.sign_in_failures(client=client, since=since)
        if len(failures) >= MAX_CLIENT_FAILURES:
            return SignInLocked(failures[-1] + LOCK_WINDOW, by_client=True)
    return None


def unlock(app: Beian, username: str, actor: str) -> None:
    """Lift the lock of an account after failed sign-ins (its failures before now no longer count)."""
    with app.uow() as uow:
        row = _existing(uow, username)
        uow.repo.add(SignInAttempt(at=clock.now(), username=row.username, client=f"admin:{actor}"[:64],
                                   outcome="unlock"))
        _audit(uow, actor, "user_unlocked", f"用户 {row.username} 的登录锁定已解除", username=row.username)
        uow.commit()


def get_user(app: Beian, username: str) -> Caseworker | None:
    with app.reading() as uow:
        row = uow.repo.user(username.strip().lower())
        return caseworker(row) if row else None


def list_users(app: Beian) -> list[Caseworker]:
    with app.reading() as uow:
        return [caseworker(row) for row in uow.repo.users()]


def set_password(app: Beian, username: str, password: str, actor: str) -> None:
    with app.uow() as uow:
        row = _existing(uow, username)
        password = check_password(password, row.username)
        row.password_hash = HASHER.hash(password)
        row.password_changed_at = clock.now()
        ended = end_sessions(uow, row.username, "password")
        _audit(uow, actor, "password_changed", f"用户 {row.username} 的密码已更改，{ended} 个登录会话随之结束",
               username=row.username, sessions_ended=ended)
        uow.commit()


def set_active(app: Beian, username: str, active: bool, actor: str) -> Caseworker:
    """Disable or re-enable an account (accounts are never deleted: the history names them). Setting the state it
    already has changes nothing and records nothing."""
    with app.uow() as uow:
        row = _existing(uow, username)
        if row.active != active:
            row.active = active
            if active:
                _audit(uow, actor, "user_reactivated", f"用户 {row.username} 已重新启用", username=row.username)
            else:
                ended = end_sessions(uow, row.username, "disabled")
                _audit(uow, actor, "user_deactivated", f"用户 {row.username} 已停用，{ended} 个登录会话随之结束",
                       username=row.username, sessions_ended=ended)
            uow.commit()
        return caseworker(row)


def _existing(uow: UnitOfWork, username: str) -> User:
    row = uow.repo.user(username.strip().lower())
    if row is None:
        raise NotFound(f"用户“{username}”不存在")
    return row


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, made with the current parameters: verified against for unknown users."""
    return HASHER.hash(secrets.token_urlsafe(32))


def _audit(uow: UnitOfWork, actor: str, action: str, summary: str, **detail: object) -> None:
    uow.repo.audit(at=clock.now(), case_id=None, actor=actor, action=action, summary=summary, article="",
                   detail=detail)
