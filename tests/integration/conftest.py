"""Fixtures of the PostgreSQL-specific integration tests (each needs BEIAN_TEST_POSTGRES_URL, see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from adapters.outside.db import make_engine
from tests.conftest import Beian


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(postgres_url: str) -> Beian:
    """The command line on a fresh, initialised PostgreSQL database."""
    cli = Beian(postgres_url)
    assert cli.backend == "postgresql"
    cli("init")
    return cli
