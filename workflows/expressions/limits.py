"""How much one expression or script may do, and the meter that enforces it while it runs.

Every evaluation gets a fresh `Meter`. The interpreter charges it a step for every node it evaluates and for every
element a library function walks, and charges it the bytes of every value it makes, *before* making values whose
size a single operation could blow up (`'a' * 10 ** 10`, `10 ** 10 ** 10`). Exceeding a limit raises
`ExpressionLimitExceeded` at once: nothing is allocated beyond the limit and no step runs past it.

Time is a second line behind the step count (a step count is deterministic, clocks are not), checked every few
hundred steps and after every call of a domain function. It is measured twice: the evaluating thread's CPU time
against `max_seconds`, so a busy machine (other workers, a test run on two cores) cannot fail a case that did
nothing wrong, and the wall clock against the looser `max_wall_seconds`, so an evaluation that waits (a domain
function blocked on something outside) still ends. Neither counts what is not the expression's own work: a documented
function of the system it calls (`host_call`), and the interpreter collecting garbage in the middle of it (a full
collection in a process holding much can take a second, and has nothing to do with what the expression does).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


class ExpressionError(ValueError):
    """An expression or script that cannot run as written; the message is Chinese and says why."""


class ExpressionNotAllowed(ExpressionError):
    """Syntax the expression language does not have (an import, a `while` loop, a `_` name, an attribute…)."""


class ExpressionFailed(ExpressionError):
    """A well-formed expression that failed on this data (a missing key, text added to a number…)."""


class ExpressionUndefined(ExpressionFailed):
    """A name that is neither in the case's data nor a variable the script set before."""


class ExpressionLimitExceeded(ExpressionError):
    """An expression that ran out of its time or memory allowance."""


@dataclass(frozen=True)
class Limits:
    """The allowance of one evaluation (one condition, timer value, parameter or script)."""

    max_steps: int = 200_000  # evaluated nodes plus elements walked by library functions
    max_seconds: float = 1.0  # CPU time of the evaluating thread, behind the step count
    max_wall_seconds: float = 5.0  # wall clock, for an evaluation that waits rather than works
    max_memory: int = 32 * 1024 * 1024  # bytes of values made (about; counted as made, never freed)
    max_string: int = 200_000  # characters of one string made
    max_items: int = 100_000  # elements of one list, tuple or dict made
    max_int_bits: int = 4096  # about 1,233 decimal digits
    max_depth: int = 32  # nesting of lists and dicts made
    max_format_width: int = 1_000  # width or precision in an f-string's format
    max_source: int = 20_000  # characters of one expression or script
    max_syntax_depth: int = 40  # nesting of the source itself
    max_result_nodes: int = 200_000  # values walked when a result leaves the interpreter


DEFAULT_LIMITS = Limits()
_CLOCK_EVERY = 256


class _Collections(threading.local):
    """The CPU time this thread has spent collecting garbage (a collection runs in the thread that allocates)."""

    spent = 0.0
    started = 0.0


_collections = _Collections()


def _count_collection(phase: str, _info: dict[str, int]) -> None:
    if phase == "start":
        _collections.started = time.thread_time()
    else:
        _collections.spent += time.thread_time() - _collections.started


gc.callbacks.append(_count_collection)


class Meter:
    """Counts one evaluation's steps, bytes and time against its `Limits`."""

    __slots__ = ("limits", "steps", "memory", "_cpu_deadline", "_wall_deadline", "_next_clock", "_collected")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.steps = 0
        self.memory = 0
        self._cpu_deadline = time.thread_time() + limits.max_seconds
        self._wall_deadline = time.monotonic() + limits.max_wall_seconds
        self._next_clock = _CLOCK_EVERY
        self._collected = _collections.spent  # garbage collection before the evaluation began

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.limits.max_steps:
            raise ExpressionLimitExceeded(
                f"超出时间限制：计算步数超过 {self.limits.max_steps:,} 步（循环或计算量过大）")
        if self.steps >= self._next_clock:
            self._next_clock = self.steps + _CLOCK_EVERY
            self.check_clock()

    @contextlib.contextmanager
    def host_call(self) -> Iterator[None]:
        """Around a documented function of the system (working days, today…): trusted code with bounds of its own,
        which may load what it needs (the calendar, from the database, on a step's first use). Its CPU time is not
        the expression's computation and moves the CPU deadline on; the wall clock still counts it, so nothing an
        expression calls can make it run longer than `max_wall_seconds`."""
        started, collected = time.thread_time(), _collections.spent
        try:
            yield
        finally:  # less any garbage collection meanwhile, which check_clock leaves out already
            self._cpu_deadline += (time.thread_time() - started) - (_collections.spent - collected)

    def check_clock(self) -> None:
        if time.thread_time() - (_collections.spent - self._collected) > self._cpu_deadline:
            raise ExpressionLimitExceeded(f"超出时间限制：计算时间超过 {self.limits.max_seconds:g} 秒")
        if time.monotonic() > self._wall_deadline:
            raise ExpressionLimitExceeded(f"超出时间限制：运行（含等待）超过 {self.limits.max_wall_seconds:g} 秒")

    def allocate(self, size: int) -> None:
        """Charge `size` bytes for a value about to be made (refused before it is made when over the limit)."""
        self.memory += size
        if self.memory > self.limits.max_memory:
            raise ExpressionLimitExceeded(
                f"超出内存限制：产生的数据超过 {self.limits.max_memory // (1024 * 1024)} MB")

    def string(self, length: int) -> None:
        """Charge a string of `length` characters about to be made."""
        if length > self.limits.max_string:
            raise ExpressionLimitExceeded(
                f"超出内存限制：文本长度 {length:,} 超过上限 {self.limits.max_string:,} 个字符")
        self.allocate(length + 64)
        self.step(1 + length // 4096)

    def items(self, count: int) -> None:
        """Charge a list, tuple or dict of `count` elements about to be made."""
        if count > self.limits.max_items:
            raise ExpressionLimitExceeded(f"超出内存限制：元素个数 {count:,} 超过上限 {self.limits.max_items:,} 个")
        self.allocate(8 * count + 64)
        self.step(1 + count // 64)

    def integer_bits(self, bits: int) -> None:
        """Refuse an integer of `bits` bits before it is computed."""
        if bits > self.limits.max_int_bits:
            raise ExpressionLimitExceeded(
                f"超出内存限制：整数过大（约 {int(bits * 0.30103):,} 位十进制数，上限约 "
                f"{int(self.limits.max_int_bits * 0.30103):,} 位）")
        self.allocate(bits // 8 + 32)
