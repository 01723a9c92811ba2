"""Operational settings, read from the environment (12-factor: one process, one set of variables).

Everything has an embedded default that works on one machine with `beian up`: the outside systems all point at the
sandbox server on loopback. In production each outside system gets its own base URL and credentials:

    BEIAN_<SYSTEM>_URL      base URL of the outside system (empty = not configured)
    BEIAN_<SYSTEM>_TOKEN    bearer credential sent as `Authorization: Bearer …`

for SYSTEM in CREDIT_REGISTRY, ENTERPRISE_REGISTRY, NOTICE_WEBSITE, NATIONAL_REGISTRY, NOTIFICATIONS,
CERTIFICATE_REGISTRY.
`docs/operations.md` lists every variable.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

SANDBOX_PORT = 4210
PREFECT_PORT = 4220
WEB_PORT = 8000
# Where the sandbox keeps the ops notifications it receives (the embedded default of BEIAN_OPS_WEBHOOK_URL).
SANDBOX_OPS_PATH = "/_sandbox/ops-notifications"
# Seconds between flow-run heartbeats, for every process `beian up` and `run_worker` start; the zombie automation
# (workflows.flows) waits a few of them before it declares a run Crashed. Here, in a module that does not import
# Prefect, so that the environment can be built before Prefect reads it.
HEARTBEAT_SECONDS = 60

# The outside systems, each with what it is for (people read these names in logs and the stuck list).
OUTSIDE_SYSTEMS: dict[str, str] = {
    "credit_registry": "信用信息平台（失信记录核查）",
    "enterprise_registry": "市场主体登记系统（注销核查）",
    "notice_website": "公示公告网站",
    "national_registry": "全国评价机构备案信息库",
    "notifications": "短信/电子邮件通知网关",
    "certificate_registry": "职业技能等级证书数据系统",
}

# How long the authority expects to wait for each outside reply before a case counts as stuck, in working days
# from the day the wait began. Waits that a BPMN timer already bounds (objection during publicity, statement
# period) are not listed: their timer ends the wait.
DEFAULT_EXPECTED_REPLY_DAYS: dict[str, int] = {
    "resubmission": 30,
    "wrapup_done": 30,
    "rectification_done": 30,
}


# Set while a scratch database runs synthetic cases (a simulation, a check's trial run): no outside system is reached
# from this thread or task, whatever the environment says. A context variable, not the environment, so a web request
# doing it leaves every other request's settings alone.
_OUTSIDE_SYSTEMS_OFF: ContextVar[bool] = ContextVar("beian_outside_systems_off", default=False)


@contextlib.contextmanager
def outside_systems_off() -> Iterator[None]:
    """Within the block, every outside system reads as not configured (an empty base URL): the credit pre-check is
    skipped and nothing would be delivered."""
    token = _OUTSIDE_SYSTEMS_OFF.set(True)
    try:
        yield
    finally:
        _OUTSIDE_SYSTEMS_OFF.reset(token)


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message (in Chinese, as every command's errors are) names the
    variable and its value."""


@dataclass(frozen=True)
class OutsideSystem:
    key: str
    base_url: str
    token: str

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    @property
    def label(self) -> str:
        return OUTSIDE_SYSTEMS[self.key]


@dataclass(frozen=True)
class Settings:
    sweep_interval_seconds: int = 60
    # Consecutive failed steps of one instance before the sweep stops retrying it (then `beian retry CASE`).
    sweep_max_attempts: int = 3
    # Seconds between runs of the delivery deployment (also the unit of "delivery late" in the stuck watch).
    delivery_interval_seconds: int = 60
    delivery_max_attempts: int = 8
    delivery_backoff_seconds: float = 30.0  # first retry delay; doubles per attempt up to the maximum
    delivery_backoff_max_seconds: float = 3600.0
    http_timeout_seconds: float = 10.0
    # How long a statement waits for the database before the request or step gives up as "busy": SQLite's
    # busy_timeout behind another writer, and the wait for a free connection of the pool (docs/operations.md).
    database_wait_seconds: float = 30.0
    # A sweep flow running longer than this is flagged in the Prefect UI.
    sweep_too_long_seconds: int = 300
    # An outside system failing every delivery for this long is one row of the stuck list (with its waiting cases).
    outside_down_minutes: int = 10
    # A background deployment whose last this many finished runs all failed is flagged in the stuck list.
    deployment_failed_runs: int = 3
    sandbox_url: str = f"http://127.0.0.1:{SANDBOX_PORT}"
    web_url: str = f"http://127.0.0.1:{WEB_PORT}"
    # Where the automation "case stuck / unstuck" posts its notification (JSON); empty: no notification.
    ops_webhook_url: str = f"http://127.0.0.1:{SANDBOX_PORT}{SANDBOX_OPS_PATH}"
    expected_reply_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_EXPECTED_REPLY_DAYS))
    systems: Mapping[str, OutsideSystem] = field(default_factory=dict)

    def system(self, key: str) -> OutsideSystem:
        if key in self.systems:
            return self.systems[key]
        if key not in OUTSIDE_SYSTEMS:
            raise KeyError(key)
        return OutsideSystem(key, f"{self.sandbox_url.rstrip('/')}/{key}", "sandbox")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    defaults = Settings()
    sandbox_url = env.get("BEIAN_SANDBOX_URL", defaults.sandbox_url).rstrip("/")
    systems: dict[str, OutsideSystem] = {}
    off = _OUTSIDE_SYSTEMS_OFF.get()
    for key in OUTSIDE_SYSTEMS:
        prefix = f"BEIAN_{key.upper()}"
        url = env.get(f"{prefix}_URL")
        base_url = (url if url is not None else f"{sandbox_url}/{key}" if sandbox_url else "").rstrip("/")
        token = env.get(f"{prefix}_TOKEN", "sandbox" if url is None else "")
        systems[key] = OutsideSystem(key, "" if off else base_url, token)
    return Settings(
        sweep_interval_seconds=_int(env, "BEIAN_SWEEP_INTERVAL", defaults.sweep_interval_seconds, minimum=1),
        sweep_max_attempts=_int(env, "BEIAN_SWEEP_MAX_ATTEMPTS", defaults.sweep_max_attempts, minimum=1),
        delivery_interval_seconds=_int(env, "BEIAN_DELIVERY_INTERVAL", defaults.delivery_interval_seconds, minimum=1),
        delivery_max_attempts=_int(env, "BEIAN_DELIVERY_MAX_ATTEMPTS", defaults.delivery_max_attempts, minimum=1),
        delivery_backoff_seconds=_float(env, "BEIAN_DELIVERY_BACKOFF", defaults.delivery_backoff_seconds),
        delivery_backoff_max_seconds=_float(env, "BEIAN_DELIVERY_BACKOFF_MAX", defaults.delivery_backoff_max_seconds),
        http_timeout_seconds=_float(env, "BEIAN_HTTP_TIMEOUT", defaults.http_timeout_seconds),
        database_wait_seconds=_float(env, "BEIAN_DB_WAIT", defaults.database_wait_seconds),
        sweep_too_long_seconds=_int(env, "BEIAN_SWEEP_TOO_LONG", defaults.sweep_too_long_seconds, minimum=1),
        outside_down_minutes=_int(env, "BEIAN_OUTSIDE_DOWN_MINUTES", defaults.outside_down_minutes),
        deployment_failed_runs=_int(env, "BEIAN_DEPLOYMENT_FAILED_RUNS", defaults.deployment_failed_runs, minimum=1),
        sandbox_url=sandbox_url,
        web_url=env.get("BEIAN_WEB_URL", defaults.web_url).rstrip("/"),
        ops_webhook_url=env.get("BEIAN_OPS_WEBHOOK_URL",
                                f"{sandbox_url}{SANDBOX_OPS_PATH}" if sandbox_url else "").strip(),
        expected_reply_days=_reply_days(env.get("BEIAN_EXPECTED_REPLY_DAYS")),
        systems=systems,
    )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"设置 {name}={raw!r} 不是整数") from None
    if value < minimum:
        raise SettingsError(f"设置 {name}={value} 不能小于 {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"设置 {name}={raw!r} 不是数字") from None
    if not math.isfinite(value):
        raise SettingsError(f"设置 {name}={raw!r} 不是有限的数字")
    if value < 0:
        raise SettingsError(f"设置 {name}={value} 不能为负数")
    return value


def _reply_days(raw: str | None) -> dict[str, int]:
    """`message=days,message=days`, merged over the defaults."""
    days = dict(DEFAULT_EXPECTED_REPLY_DAYS)
    if not raw:
        return days
    for part in raw.split(","):
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise SettingsError(f"设置 BEIAN_EXPECTED_REPLY_DAYS 中的 {part!r} 应写作 消息名=工作日数")
        days[name.strip()] = int(value)
    return days
