"""Institution accounts for the portal: an institution registers with its unified social credit code and a contact it
proves with a one-time code (sent through the notifications outside system, by the outbox); its administrator invites
colleagues the same way; everyone signs in with a password, locked out after repeated failures like caseworkers.

An account acts for one credit code and sees only what belongs to it (workflows/service/portal.py). It is not a
caseworker and cannot become one: its sessions and sign-in attempts are kept under ``portal:<username>``, a name the
caseworkers' username pattern can never match, so a portal session opens no caseworker page, whatever its cookie.

Where the institution is already known (an application or a filing under the credit code), the contact must be one
that it gave there (its phone or e-mail): a stranger who knows a credit code cannot take the institution's portal.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from uuid import uuid4

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from adapters.outside.db import Filing, Instance, InstitutionAccount, OneTimeCode, OutboxMessage
from adapters.outside.repository import UnitOfWork
from tasks.credit_code import credit_code_problem, normalize_credit_code
from tasks.errors import IllegalEvent, InvalidInput
from tasks.portal_accounts import PHONE, PORTAL, InstitutionUser, mask
from tasks.text import printable, text_problem
from workflows import clock
from workflows.sessions import end_sessions
from workflows.users import HASHER, SignInLocked, check_display_name, check_password, sign_in

if TYPE_CHECKING:
    from workflows.service import Beian

USERNAME_PATTERN: Final = re.compile(r"[a-z0-9_.-]{3,32}")
EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
MAX_CONTACT: Final = 100
MAX_INSTITUTION_NAME: Final = 100
CODE_TTL: Final = timedelta(minutes=10)
CODE_TRIES: Final = 5
# Codes sent: to one contact within CODE_TTL (a resend or two), from one address a day, and in all a day.
CODES_PER_CONTACT: Final = 3
CODES_PER_CLIENT_PER_DAY: Final = 20
CODES_PER_DAY: Final = 5000
PURPOSES: Final = {"register": "注册机构账户", "invite": "接受本机构管理员的邀请"}


def _user(row: InstitutionAccount) -> InstitutionUser:
    return InstitutionUser(row.username, row.display_name, row.credit_code, row.institution_name, row.contact,
                           row.is_admin, row.active)


# --- checks -----------------------------------------------------------------------------------------------------

def check_credit_code(code: object) -> str:
    if not isinstance(code, str) or len(code) > 40:
        raise InvalidInput("请填写18位统一社会信用代码")
    problem = credit_code_problem(code)
    if problem:
        raise InvalidInput(f"统一社会信用代码有误：{problem}")
    return normalize_credit_code(code)


def check_contact(contact: object) -> str:
    """A mobile number (11 digits) or an e-mail address, as it will be written to."""
    if not isinstance(contact, str) or not contact.strip():
        raise InvalidInput("请填写手机号码或电子邮箱，验证码将发送至此")
    value = "".join(contact.split())
    if len(value) > MAX_CONTACT:
        raise InvalidInput(f"联系方式太长：最多 {MAX_CONTACT} 个字符")
    if PHONE.fullmatch(value):
        return value
    if EMAIL.fullmatch(value):
        return value.lower()
    raise InvalidInput("联系方式应为11位手机号码（如 13812345678）或电子邮箱（如 name@example.cn）")


def _check_username(username: object) -> str:
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username.strip().lower()):
        raise InvalidInput("用户名应为 3–32 个字符，只含小写字母、数字和 _ . -")
    return username.strip().lower()


def _check_institution_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput("请填写机构名称")
    value = name.strip()
    problem = text_problem(value, required=True)
    if problem:
        raise InvalidInput(f"机构名称{problem}")
    if len(value) > MAX_INSTITUTION_NAME:
        raise InvalidInput(f"机构名称太长：最多 {MAX_INSTITUTION_NAME} 个字符")
    return value


def _known_contacts(uow: UnitOfWork, credit_code: str) -> set[str] | None:
    """The phone numbers and e-mail addresses the institution gave in its applications and filings, or None when the
    system has never heard of it (a first applicant)."""
    # Only the two JSON columns: an instance's row carries its whole engine state beside them.
    records = list(uow.session.scalars(select(Filing.record).where(Filing.credit_code == credit_code)))
    records += uow.session.scalars(select(Instance.application).where(
        Instance.credit_code == credit_code, Instance.process_id == "filing_application"))
    if not records:
        return None
    known: set[str] = set()
    for record in records:
        institution = (record or {}).get("institution") or {}
        for key in ("phone", "email"):
            value = institution.get(key)
            if isinstance(value, str) and value.strip():
                known.add("".join(value.split()).lower())
    return known


# --- one-time codes --------------------------------------------------------------------------------------------

def _code_hash(nonce: str, code: str) -> str:
    return hashlib.sha256(f"{nonce}:{code}".encode()).hexdigest()


def _send_code(uow: UnitOfWork, purpose: str, credit_code: str, contact: str, details: dict[str, Any],
               client: str, now: datetime) -> None:
    """Make a code, keep its hash, and have the notifications system send it (through the outbox)."""
    recent = uow.session.scalar(select(func.count()).select_from(OneTimeCode).where(
        OneTimeCode.contact == contact, OneTimeCode.created_at > now - CODE_TTL))
    if (recent or 0) >= CODES_PER_CONTACT:
        raise IllegalEvent(f"验证码发送过于频繁：{int(CODE_TTL.total_seconds() // 60)} 分钟内最多发送 "
                           f"{CODES_PER_CONTACT} 次，请稍后再试")
    day = now - timedelta(days=1)
    if client and (uow.session.scalar(select(func.count()).select_from(OneTimeCode).where(
            OneTimeCode.client == client, OneTimeCode.created_at > day)) or 0) >= CODES_PER_CLIENT_PER_DAY:
        raise IllegalEvent("来自您所在网络地址的验证码请求过多，请明天再试")
    if (uow.session.scalar(select(func.count()).select_from(OneTimeCode).where(OneTimeCode.created_at > day))
            or 0) >= CODES_PER_DAY:
        raise IllegalEvent("今日验证码发送量已达上限，请明天再试或联系备案机关")
    code = f"{secrets.randbelow(10**6):06d}"
    nonce = secrets.token_hex(16)
    uow.repo.add(OneTimeCode(purpose=purpose, credit_code=credit_code, contact=contact,
                             code_hash=_code_hash(nonce, code), details={**details, "nonce": nonce},
                             created_at=now, expires_at=now + CODE_TTL, tries=0, used_at=None, client=client))
    channel = "sms" if PHONE.fullmatch(contact) else "email"
    case = f"ZH-{credit_code}"
    text = (f"【职业技能等级评价机构备案系统】验证码 {code}，用于{PURPOSES[purpose]}"
            f"（统一社会信用代码 {credit_code}），{int(CODE_TTL.total_seconds() // 60)} 分钟内有效。"
            "如非本人操作，请忽略本消息。")
    uow.repo.add(OutboxMessage(
        key=f"{case}/notifications/{uuid4().hex}", case_id=case, filing_id=None, system="notifications",
        path="messages", summary=f"发送验证码（{PURPOSES[purpose]}）至 {mask(contact)}",
        payload={"channels": [channel], "to": {"name": details.get("display_name") or details.get("institution_name"),
                                               channel: contact},
                 "subject": "机构账户验证码", "text": text, "case": case, "occurred_at": now.isoformat()},
        status="pending", attempts=0, next_attempt_at=now, created_at=now))


def _use_code(uow: UnitOfWork, purpose: str, credit_code: str, contact: str, code: object,
              now: datetime) -> OneTimeCode:
    """The code row `code` opens, marked used; a wrong code counts a try (kept even though the caller's change is
    refused: the caller commits before raising)."""
    row = uow.session.scalars(
        select(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.credit_code == credit_code,
                                  OneTimeCode.contact == contact, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc()).limit(1)).first()
    if row is None or row.expires_at <= now:
        raise InvalidInput("验证码已失效或不存在，请重新获取")
    if row.tries >= CODE_TRIES:
        raise InvalidInput("验证码错误次数过多，已失效，请重新获取")
    typed = "".join(code.split()) if isinstance(code, str) else ""
    if not (len(typed) == 6 and typed.isdigit()
            and secrets.compare_digest(_code_hash(row.details.get("nonce", ""), typed), row.code_hash)):
        row.tries += 1
        left = CODE_TRIES - row.tries
        uow.commit()
        raise InvalidInput("验证码不正确" + (f"，还可尝试 {left} 次" if left else "，已失效，请重新获取"))
    claimed = uow.session.execute(update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
                                  .values(used_at=now))
    if not claimed.rowcount:  # type: ignore[attr-defined]  # used by a request at the same moment
        raise InvalidInput("验证码已失效或不存在，请重新获取")
    return row


def _audit(uow: UnitOfWork, actor: str, action: str, summary: str, **detail: Any) -> None:
    uow.repo.audit(at=clock.now(), case_id=None, actor=actor, action=action, summary=summary, article="",
                   detail=detail)


# --- registration and invitations -------------------------------------------------------------------------------

def request_registration(app: Beian, credit_code: object, institution_name: object, contact: object,
                         client: str = "") -> dict[str, Any]:
    """Send a registration code to `contact`. Refused: a bad credit code or contact, an institution that already
    has accounts (its administrator invites), a contact other than those the institution gave the authority."""
    code = check_credit_code(credit_code)
    name = _check_institution_name(institution_name)
    to = check_contact(contact)
    client = printable(client[:64])
    now = clock.now()
    with app.uow() as uow:
        _refuse_taken(uow, code)
        known = _known_contacts(uow, code)
        if known is not None and to.lower() not in known:
            raise InvalidInput("该机构已有备案申请或备案，联系方式须为申请中登记的联系电话或电子邮箱之一；"
                               "如联系方式已变更，请先向备案机关报告变更")
        _send_code(uow, "register", code, to, {"institution_name": name}, client, now)
        _audit(uow, "portal", "portal_code_sent", f"机构注册验证码已发送至 {mask(to)}（统一社会信用代码 {code}）",
               credit_code=code, contact=mask(to))
        uow.commit()
    return {"credit_code": code, "contact": to, "sent_to": mask(to),
            "expires_in_minutes": int(CODE_TTL.total_seconds() // 60)}


def _refuse_taken(uow: UnitOfWork, credit_code: str) -> None:
    if uow.session.scalars(select(InstitutionAccount.id).where(InstitutionAccount.credit_code == credit_code)).first():
        raise IllegalEvent(f"统一社会信用代码 {credit_code} 的机构已开通账户，请由该机构的管理员在“本机构人员”中邀请您")


def complete_registration(app: Beian, credit_code: object, contact: object, code: object, username: object,
                          display_name: object, password: object, client: str = "") -> InstitutionUser:
    """The institution's first account (its administrator), once the code sent to the contact is confirmed."""
    credit = check_credit_code(credit_code)
    to = check_contact(contact)
    name = _check_username(username)
    shown = check_display_name(display_name)
    secret = check_password(password, name)
    password_hash = HASHER.hash(secret)
    now = clock.now()
    with app.uow() as uow:
        _refuse_taken(uow, credit)
        if _taken(uow, name):
            raise InvalidInput(f"用户名“{name}”已被使用，请换一个")
        row = _use_code(uow, "register", credit, to, code, now)
        institution = row.details["institution_name"]
        return _add_account(uow, now, name, shown, credit, institution, to, password_hash, is_admin=True,
                            created_by=PORTAL + name,
                            summary=f"机构账户注册：{institution}（{credit}）管理员 {name}（{shown}），"
                                    f"联系方式 {mask(to)} 已验证")


def invite(app: Beian, admin: InstitutionUser, username: object, display_name: object, contact: object,
           client: str = "") -> dict[str, Any]:
    """The institution's administrator invites a colleague: the code goes to the colleague's contact."""
    if not admin.is_admin or not admin.active:
        raise IllegalEvent("只有本机构的管理员可以邀请人员")
    name = _check_username(username)
    shown = check_display_name(display_name)
    to = check_contact(contact)
    now = clock.now()
    with app.uow() as uow:
        if _taken(uow, name):
            raise InvalidInput(f"用户名“{name}”已被使用，请换一个")
        _send_code(uow, "invite", admin.credit_code, to,
                   {"username": name, "display_name": shown, "invited_by": admin.username,
                    "institution_name": admin.institution_name}, printable(client[:64]), now)
        _audit(uow, admin.actor, "portal_invited", f"{admin.username} 邀请 {name}（{shown}）加入本机构账户，"
               f"验证码已发送至 {mask(to)}", credit_code=admin.credit_code, username=name)
        uow.commit()
    return {"username": name, "sent_to": mask(to)}


def accept_invitation(app: Beian, credit_code: object, username: object, contact: object, code: object,
                      password: object, client: str = "") -> InstitutionUser:
    credit = check_credit_code(credit_code)
    name = _check_username(username)
    to = check_contact(contact)
    secret = check_password(password, name)
    password_hash = HASHER.hash(secret)
    now = clock.now()
    with app.uow() as uow:
        row = _use_code(uow, "invite", credit, to, code, now)
        if row.details.get("username") != name:
            raise InvalidInput("用户名与邀请不符，请使用邀请中的用户名")
        if _taken(uow, name):
            raise InvalidInput(f"用户名“{name}”已被使用，请管理员换一个用户名重新邀请")
        invited_by = str(row.details.get("invited_by"))
        return _add_account(uow, now, name, row.details["display_name"], credit, row.details["institution_name"], to,
                            password_hash, is_admin=False, created_by=PORTAL + invited_by,
                            summary=f"{name}（{row.details['display_name']}）接受 {invited_by} 的邀请，加入 "
                                    f"{row.details['institution_name']} 的机构账户")


def _taken(uow: UnitOfWork, username: str) -> bool:
    return uow.session.scalars(select(InstitutionAccount.id).where(InstitutionAccount.username == username)).first() \
        is not None


def _add_account(uow: UnitOfWork, now: datetime, username: str, display_name: str, credit_code: str,
                 institution_name: str, contact: str, password_hash: str, *, is_admin: bool, created_by: str,
                 summary: str) -> InstitutionUser:
    """Create the account in the caller's unit of work (its code already used) and commit, audited."""
    account = InstitutionAccount(username=username, display_name=display_name, credit_code=credit_code,
                                 institution_name=institution_name, contact=contact, password_hash=password_hash,
                                 is_admin=is_admin, active=True, created_at=now, created_by=created_by,
                                 password_changed_at=now)
    uow.repo.add(account)
    _audit(uow, PORTAL + username, "portal_account_added", summary, credit_code=credit_code, username=username,
           is_admin=is_admin)
    try:
        uow.commit()
    except IntegrityError:  # the same name taken at the same moment
        raise InvalidInput(f"用户名“{username}”已被使用，请换一个") from None
    return _user(account)


def set_active(app: Beian, admin: InstitutionUser, username: str, active: bool) -> InstitutionUser:
    """The administrator disables (or enables again) a colleague's account; disabling ends its sessions."""
    if not admin.is_admin or not admin.active:
        raise IllegalEvent("只有本机构的管理员可以停用或启用人员")
    with app.uow() as uow:
        row = uow.session.scalars(select(InstitutionAccount).where(
            InstitutionAccount.username == username, InstitutionAccount.credit_code == admin.credit_code)).first()
        if row is None:
            raise InvalidInput(f"本机构没有用户“{username}”")
        if row.username == admin.username:
            raise IllegalEvent("不能停用自己的账户")
        row.active = active
        if not active:
            end_sessions(uow, PORTAL + row.username, "disabled")
        _audit(uow, admin.actor, "portal_account_" + ("enabled" if active else "disabled"),
               f"{admin.username} {'启用' if active else '停用'}了 {row.username}（{row.display_name}）",
               credit_code=admin.credit_code, username=row.username)
        uow.commit()
        return _user(row)


# --- signing in --------------------------------------------------------------------------------------------------

def authenticate_institution(app: Beian, username: str, password: str, client: str = "") -> InstitutionUser | None:
    """As `workflows.users.authenticate`, for portal accounts (attempts kept under ``portal:<username>``)."""
    typed = printable((username.strip().lower() if isinstance(username, str) else "")[:32])

    def find(uow: UnitOfWork) -> InstitutionAccount | None:
        if not typed:
            return None
        return uow.session.scalars(select(InstitutionAccount).where(InstitutionAccount.username == typed)).first()

    return sign_in(app, PORTAL + typed, password, client, find, _user)


def institution_user(app: Beian, session_username: str) -> InstitutionUser | None:
    """The active account a portal session is for (None for any other session, e.g. a caseworker's)."""
    if not session_username.startswith(PORTAL):
        return None
    with app.reading() as uow:
        row = uow.session.scalars(select(InstitutionAccount).where(
            InstitutionAccount.username == session_username.removeprefix(PORTAL))).first()
        return _user(row) if row is not None and row.active else None


def colleagues(app: Beian, user: InstitutionUser) -> list[InstitutionUser]:
    with app.reading() as uow:
        return [_user(r) for r in uow.session.scalars(select(InstitutionAccount).where(
            InstitutionAccount.credit_code == user.credit_code).order_by(InstitutionAccount.id))]


__all__ = ["PORTAL", "InstitutionUser", "SignInLocked", "accept_invitation", "authenticate_institution",
           "colleagues", "complete_registration", "institution_user", "invite", "mask", "request_registration",
           "set_active"]
