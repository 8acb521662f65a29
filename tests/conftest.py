"""The test database's engine (tests/dbs.py) and the `sqlite_only` marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import dbs

_SKIP_REASON = "about SQLite itself; DUBAN_TEST_DB is PostgreSQL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite itself (files, PRAGMAs, its fast paths); "
                   "skipped when DUBAN_TEST_DB names PostgreSQL")


def pytest_report_header(config: pytest.Config) -> str:
    return f"database engine: {dbs.ENGINE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not dbs.ON_PG:
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("sqlite_only") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if _SKIP_REASON in str(getattr(r, "longrepr", ""))]
    terminalreporter.write_line(
        f"database engine: {dbs.ENGINE}; {len(skipped)} SQLite-only tests skipped")


@pytest.fixture(autouse=True)
def _fresh_databases() -> Iterator[None]:
    """On PostgreSQL, drop the databases a test made once it is over."""
    before = dbs.created()
    yield
    dbs.drop_since(before)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    dbs.drop_all()
