"""The one clock of the system, real or virtual, and its installation into SpiffWorkflow.

Every piece of code that needs "now" asks `current_clock()`. SpiffWorkflow has no clock parameter: its timer
module reads `datetime.now(timezone.utc)` through a module-level `datetime` name, so `install_into_spiff()` swaps
that one name for a `datetime` subclass whose `now()` answers from our clock. That is the only patch we make to the
library, and it is guarded by a version check so an upgrade cannot silently bypass the virtual clock.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The SpiffWorkflow versions whose timer module we have read and know to patch correctly.
_PATCHED_SPIFF_VERSIONS = ("3.2.",)


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class VirtualClock:
    """A fixed instant: each command of the CLI runs at the `--now` it was given."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("虚拟时钟的时间必须带时区，例如 2026-09-30T10:00:00+08:00")

    def now(self) -> datetime:
        return self.instant


_REAL_CLOCK = RealClock()
_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("beian_clock", default=_REAL_CLOCK)  # noqa: B039


def current_clock() -> Clock:
    return _current.get()


def now() -> datetime:
    return _current.get().now()


def is_real() -> bool:
    """Whether the clock in force is the real one (no `--now`, no demo, simulation or test clock)."""
    return isinstance(_current.get(), RealClock)


def today_in_shanghai() -> date:
    return now().astimezone(SHANGHAI).date()


def set_clock(clock: Clock) -> contextvars.Token[Clock]:
    return _current.set(clock)


@contextlib.contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant for `--now` / `--received-at`; a date alone means 09:00 in Asia/Shanghai."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"无法识别的时间“{text}”，请使用 ISO-8601 格式，例如 2026-09-30T10:00:00+08:00") from exc
    if len(text) == 10:  # a bare date
        value = value.replace(hour=9, tzinfo=SHANGHAI)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


class _ClockDatetime(datetime):
    """`datetime` whose `now()` reads our clock; everything else is the real class."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        instant = _current.get().now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone().replace(tzinfo=None)


_installed = False


def install_into_spiff() -> None:
    """Make SpiffWorkflow's timers read our clock. Idempotent."""
    global _installed
    if _installed:
        return
    import SpiffWorkflow
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    version = getattr(SpiffWorkflow, "__version__", None)
    if version is None:
        from SpiffWorkflow.version import __version__ as version
    if not str(version).startswith(_PATCHED_SPIFF_VERSIONS):
        raise RuntimeError(
            f"SpiffWorkflow {version} is not a version whose timer clock we have verified "
            f"({_PATCHED_SPIFF_VERSIONS}); re-check SpiffWorkflow/bpmn/specs/event_definitions/timer.py"
        )
    if timer.datetime is not datetime:
        raise RuntimeError("SpiffWorkflow's timer module no longer uses datetime.datetime directly")
    timer.datetime = _ClockDatetime  # type: ignore[misc]
    _installed = True
