"""HTTP clients of the outside systems (httpx): deliveries from the outbox and quick lookups inside a step.

This module docstring is the contract a real adapter of each outside system must meet; the sandbox
(`adapters/outside/sandbox.py`) implements it on loopback. `base` below is `OutsideSystem.base_url` (no trailing slash).

Every request
    `Authorization: Bearer <token>` when the system has a token (omitted when the token is empty).
    Answers are JSON objects, UTF-8. Redirects are not followed.

Deliveries (notice_website, national_registry, notifications, certificate_registry)
    POST {base}/{path}                     body: a JSON object (the payload)
        header `Idempotency-Key: <key>`    the same key always means the same delivery: the system must do it
                                           at most once and answer a repeat with the same reference.
    2xx  {"reference": "<non-empty string>", ...}   done; the reference is kept as the proof.
    5xx, 408, 429, timeout, no connection, or a 2xx that is not such an object
         → try again later with the same key (we cannot know whether the other side acted on it).
    any other 4xx → the request itself is wrong (credentials, payload, address): retrying will not help.

Lookups (credit_registry, enterprise_registry)
    GET {base}/dishonesty/{credit_code}    (credit_registry: an institution)
    200  {"credit_code": "<the code asked>", "listed": true|false,
          "records": [{"authority": str, "reason": str, "since": "YYYY-MM-DD"}, ...]}
         `listed` is true exactly when `records` is not empty.
    POST {base}/persons/dishonesty         (credit_registry: a person, the institution's legal representative)
         body: {"id_number": "<18-character resident identity number, GB 11643>", "name": "<the person's name>"}
         A query, safe to repeat (no Idempotency-Key). The number travels in the body, never in the address:
         addresses end up in access logs on every hop, and the number is personal data.
    200  {"id_number": "<the number asked>", "listed": true|false, "records": [...]}   records as above.
    GET {base}/entities/{credit_code}      (enterprise_registry)
    200  {"credit_code": "<the code asked>", "status": "active"|"deregistered"|"bankrupt"|"closed",
          "since": "YYYY-MM-DD" | null}
    404  no entity has this code.
    Anything else of another shape is an unusable answer (treated like an outage: it may be a maintenance page).

`deliver` makes exactly one attempt: the outbox owns retries across runs (`backoff_delay` spaces them). The
lookups run inside a workflow step, so they retry a few times, briefly, and then give up with `OutsideError`.

An identity number never appears in full in an `OutsideError`'s message (which reaches the case history, the
intake clerk's task and the logs): the person lookup masks it, and any other one an answer quoted, as
`5101**********1234`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from adapters.outside.settings import OUTSIDE_SYSTEMS, OutsideSystem
from tasks.id_number import mask_id_number, mask_id_numbers_in

if TYPE_CHECKING:
    import httpx  # imported where a request is made: a command that reaches no outside system never loads it

ENTITY_STATUSES = frozenset({"active", "deregistered", "bankrupt", "closed"})
# Statuses a retry may cure: the other side is down, overloaded, or gave up waiting for us.
RETRYABLE_STATUSES = frozenset({408, 429})
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SNIPPET = 80  # characters of an unusable answer quoted in the message: enough to recognise it, not a dump
# How the key a lookup answer must echo is called in a message.
_ASKED = {"credit_code": "统一社会信用代码", "id_number": "身份证号码"}
_HTTP_REASONS = {
    401: "凭据被拒绝",
    403: "无权访问",
    404: "接口不存在",
    408: "对方等待请求超时",
    429: "请求过于频繁，被对方限流",
    500: "对方服务内部错误",
    502: "对方网关出错",
    503: "对方服务暂不可用",
    504: "对方网关超时",
}

T = TypeVar("T")


class OutsideError(Exception):
    """An outside system could not be used. `message` is for ops and names the system; `system` is its key."""

    def __init__(self, system: str, message: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.system = system
        self.message = message
        self.retryable = retryable
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class DishonestyResult:
    listed: bool
    records: list[dict[str, str]]


@dataclass(frozen=True)
class EnterpriseStatus:
    status: str
    since: date | None


def backoff_delay(attempt: int, base: float, maximum: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): base, 2×base, 4×base, … capped at maximum."""
    if attempt < 1:
        raise ValueError(f"attempt must be at least 1, got {attempt}")
    # The exponent is capped so that a very long outage cannot overflow the float; the cap decides anyway.
    return min(base * 2.0 ** min(attempt - 1, 1000), maximum)


def deliver(
    system: OutsideSystem,
    path: str,
    payload: dict[str, Any],
    idempotency_key: str,
    *,
    timeout: float,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """One delivery attempt; returns the answer (a JSON object with a non-empty "reference") or raises."""
    if not idempotency_key:
        raise ValueError("a delivery needs an idempotency key")
    base = _base_url(system)
    url = f"{base}/{path.lstrip('/')}"
    headers = {**_auth(system), "Idempotency-Key": idempotency_key}
    with _client(client) as http:
        response = _send(system, timeout, lambda: http.post(url, json=payload, headers=headers, timeout=timeout))
    _raise_for_status(system, response)
    answer = _json_object(system, response)
    reference = answer.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        raise _unusable(system, response, "缺少回执编号 reference")
    return answer


def check_dishonesty(
    system: OutsideSystem,
    credit_code: str,
    *,
    timeout: float,
    attempts: int = 2,
    backoff: float = 0.2,
    client: httpx.Client | None = None,
) -> DishonestyResult:
    """Whether the credit registry lists the entity as dishonest (失信), with the records it gives."""

    def once(http: httpx.Client) -> DishonestyResult:
        response = _get(system, http, f"dishonesty/{quote(credit_code, safe='')}", timeout)
        _raise_for_status(system, response)
        return _dishonesty(system, response, "credit_code", credit_code)

    return _with_retries(system, attempts, backoff, client, once)


def check_person_dishonesty(
    system: OutsideSystem,
    id_number: str,
    name: str,
    *,
    timeout: float,
    attempts: int = 2,
    backoff: float = 0.2,
    client: httpx.Client | None = None,
) -> DishonestyResult:
    """Whether the credit registry lists the person with this identity number as dishonest (失信), with the records.

    Retried and judged as `check_dishonesty` is; the errors it raises hold no identity number in full."""

    def once(http: httpx.Client) -> DishonestyResult:
        try:
            response = _post(system, http, "persons/dishonesty", {"id_number": id_number, "name": name}, timeout)
            _raise_for_status(system, response)
            return _dishonesty(system, response, "id_number", id_number)
        except OutsideError as exc:
            # Masked here, before the retries add to the message: every way an error is worded (a quoted answer,
            # a mismatched echo) is covered, including ways added later.
            raise _masking(exc, id_number) from None

    return _with_retries(system, attempts, backoff, client, once)


def enterprise_status(
    system: OutsideSystem,
    credit_code: str,
    *,
    timeout: float,
    attempts: int = 2,
    backoff: float = 0.2,
    client: httpx.Client | None = None,
) -> EnterpriseStatus:
    """The registration status of the entity (active, deregistered, bankrupt, closed) and since when."""

    def once(http: httpx.Client) -> EnterpriseStatus:
        response = _get(system, http, f"entities/{quote(credit_code, safe='')}", timeout)
        if response.status_code == 404:
            raise OutsideError(system.key, f"{_label(system)}：未找到该主体（统一社会信用代码 {credit_code}）",
                               retryable=False, status_code=404)
        _raise_for_status(system, response)
        return _entity(system, response, credit_code)

    return _with_retries(system, attempts, backoff, client, once)


# --- one request ----------------------------------------------------------------------------------------------

def _label(system: OutsideSystem) -> str:
    return OUTSIDE_SYSTEMS.get(system.key, system.key)


def _base_url(system: OutsideSystem) -> str:
    if not system.configured:
        raise OutsideError(system.key, f"{_label(system)}：未配置地址（请设置 BEIAN_{system.key.upper()}_URL）",
                           retryable=False)
    return system.base_url.rstrip("/")


def _auth(system: OutsideSystem) -> dict[str, str]:
    return {"Authorization": f"Bearer {system.token}"} if system.token else {}


@contextmanager
def _client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's client (connection reuse), or a new one closed afterwards."""
    if client is not None:
        yield client
        return
    import httpx

    with httpx.Client() as own:
        yield own


def _get(system: OutsideSystem, http: httpx.Client, path: str, timeout: float) -> httpx.Response:
    url = f"{_base_url(system)}/{path}"
    return _send(system, timeout, lambda: http.get(url, headers=_auth(system), timeout=timeout))


def _post(system: OutsideSystem, http: httpx.Client, path: str, body: dict[str, Any], timeout: float) -> httpx.Response:
    """A query whose subject goes in the body (personal data stays out of the address, hence out of access logs)."""
    url = f"{_base_url(system)}/{path}"
    return _send(system, timeout, lambda: http.post(url, json=body, headers=_auth(system), timeout=timeout))


def _send(system: OutsideSystem, timeout: float, request: Callable[[], httpx.Response]) -> httpx.Response:
    """Runs the request, turning every transport failure into an OutsideError that says what happened."""
    import httpx

    label = _label(system)
    where = _host(system.base_url)
    try:
        return request()
    except httpx.ConnectTimeout:
        message = f"{label}：连接超时（{timeout:g} 秒内未能与 {where} 建立连接）"
    except httpx.TimeoutException:
        message = f"{label}：超时（{timeout:g} 秒内没有应答）"
    except httpx.ConnectError as exc:
        if _caused_by(exc, ConnectionRefusedError):
            message = f"{label}：连接被拒绝（{where} 上没有服务在监听）"
        else:
            message = f"{label}：无法连接 {where}（{exc}）"
    except httpx.UnsupportedProtocol:
        # A wrong address is a setting to fix, not an outage to wait out.
        raise OutsideError(system.key, f"{label}：地址 {system.base_url} 无法使用（请检查 BEIAN_"
                           f"{system.key.upper()}_URL）", retryable=False) from None
    except httpx.TransportError as exc:
        message = f"{label}：连接中断（{type(exc).__name__}：{exc}）"
    raise OutsideError(system.key, message, retryable=True)


def _host(base_url: str) -> str:
    parts = urlsplit(base_url)
    return parts.netloc or base_url


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _raise_for_status(system: OutsideSystem, response: httpx.Response) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    label = _label(system)
    reason = _HTTP_REASONS.get(code, "对方服务出错" if code >= 500 else "对方拒收请求")
    retryable = code >= 500 or code in RETRYABLE_STATUSES
    message = f"{label}：{reason}（HTTP {code}）"
    if code in (401, 403):
        message += f"，请检查 BEIAN_{system.key.upper()}_TOKEN"
    elif code == 404:
        message += f"，请检查 BEIAN_{system.key.upper()}_URL"
    elif 300 <= code < 400:
        # Redirects are not followed: an address that redirects is a setting to fix.
        message = f"{label}：地址被重定向（HTTP {code}），请检查 BEIAN_{system.key.upper()}_URL"
    elif not retryable and response.text.strip():
        message += f"：{_snippet(response.text)}"
    raise OutsideError(system.key, message, retryable=retryable, status_code=code)


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[:_SNIPPET] + "…"


def _unusable(system: OutsideSystem, response: httpx.Response, what: str) -> OutsideError:
    kind = response.headers.get("content-type", "无类型").split(";")[0]
    return OutsideError(
        system.key,
        f"{_label(system)}：返回内容无法识别（{what}；HTTP {response.status_code}，{kind}：{_snippet(response.text)}）",
        retryable=True,
        status_code=response.status_code,
    )


def _json_object(system: OutsideSystem, response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise _unusable(system, response, "不是 JSON") from None
    if not isinstance(value, dict):
        raise _unusable(system, response, "不是 JSON 对象")
    return value


# --- lookups --------------------------------------------------------------------------------------------------

def _with_retries(
    system: OutsideSystem,
    attempts: int,
    backoff: float,
    client: httpx.Client | None,
    once: Callable[[httpx.Client], T],
) -> T:
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    with _client(client) as http:
        for attempt in range(1, attempts + 1):
            try:
                return once(http)
            except OutsideError as exc:
                if not exc.retryable:
                    raise
                if attempt == attempts:
                    if attempts > 1:
                        raise OutsideError(exc.system, f"{exc.message}（已尝试 {attempts} 次）", retryable=True,
                                           status_code=exc.status_code) from exc
                    raise
            time.sleep(backoff_delay(attempt, backoff, float("inf")))
    raise AssertionError("unreachable: the loop returns or raises")


def _day(value: object) -> date | None:
    """A strict YYYY-MM-DD date, or None when it is not one."""
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _masking(error: OutsideError, id_number: str) -> OutsideError:
    """`error` with `id_number`, and anything else shaped like an identity number, masked in its message."""
    message = error.message.replace(id_number, mask_id_number(id_number)) if id_number else error.message
    return OutsideError(error.system, mask_id_numbers_in(message), retryable=error.retryable,
                        status_code=error.status_code)


def _check_asked(system: OutsideSystem, response: httpx.Response, answer: dict[str, Any], key: str,
                 asked: str) -> None:
    # An answer about another entity or person (a proxy mix-up, a cache) must never be taken for ours.
    if not isinstance(answer.get(key), str):
        raise _unusable(system, response, f"缺少 {key}")
    if answer[key] != asked:
        raise _unusable(system, response, f"答复的是另一个{_ASKED[key]} {answer[key]}")


def _dishonesty(system: OutsideSystem, response: httpx.Response, key: str, asked: str) -> DishonestyResult:
    """A dishonesty answer about `asked`, the value of `key` ("credit_code" or "id_number") the lookup sent."""
    answer = _json_object(system, response)
    _check_asked(system, response, answer, key, asked)
    listed, records = answer.get("listed"), answer.get("records")
    if not isinstance(listed, bool) or not isinstance(records, list):
        raise _unusable(system, response, "缺少 listed 或 records")
    clean: list[dict[str, str]] = []
    for record in records:
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("authority", "reason")):
            raise _unusable(system, response, "失信记录缺少 authority 或 reason")
        if _day(record.get("since")) is None:
            raise _unusable(system, response, "失信记录的 since 不是 YYYY-MM-DD 日期")
        clean.append({"authority": record["authority"], "reason": record["reason"], "since": record["since"]})
    if listed != bool(clean):
        raise _unusable(system, response, "listed 与 records 相互矛盾")
    return DishonestyResult(listed=listed, records=clean)


def _entity(system: OutsideSystem, response: httpx.Response, credit_code: str) -> EnterpriseStatus:
    answer = _json_object(system, response)
    _check_asked(system, response, answer, "credit_code", credit_code)
    status = answer.get("status")
    if status not in ENTITY_STATUSES:
        raise _unusable(system, response, "status 不是 active/deregistered/bankrupt/closed 之一")
    if "since" not in answer:
        raise _unusable(system, response, "缺少 since")
    raw_since = answer["since"]
    since = _day(raw_since)
    if raw_since is not None and since is None:
        raise _unusable(system, response, "since 不是 YYYY-MM-DD 日期")
    return EnterpriseStatus(status=status, since=since)
