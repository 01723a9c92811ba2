"""Errors a user can act on. Each message is one line of plain Chinese that says what was wrong."""

from __future__ import annotations


class BeianError(Exception):
    """Base of every error shown to a user as is (CLI: one line on stderr and a non-zero exit)."""

    exit_code = 1

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotFound(BeianError):
    exit_code = 3


class InvalidInput(BeianError):
    """Input that does not fit: a malformed application, a form that does not match its schema."""

    exit_code = 4


class ReceivedInFuture(InvalidInput):
    """An application's time of receipt later than the clock's now: nobody receives a paper tomorrow."""


class IllegalEvent(BeianError):
    """An event the case is not waiting for (a message nobody catches, a task that is no longer open)."""

    exit_code = 5


class ConcurrentChange(BeianError):
    """Someone else changed the same case in the meantime; nothing was saved."""

    exit_code = 6


class DefinitionError(BeianError):
    """A BPMN definition that cannot be deployed or run."""

    exit_code = 7


class StepFailed(BeianError):
    """The engine failed while running a step; the previous state of the case is kept."""

    exit_code = 8


class VirtualClockRefused(BeianError):
    """A virtual clock (`--now`, the demo) asked to write to a database that real time has run on
    (workflows/database_clock.py); nothing was changed."""

    exit_code = 9
