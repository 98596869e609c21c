"""Fixtures for the IDS Next tests: the hotel and connection (shared with the channel-manager
tests) and one IDS Next simulator process per test module, wiped before every test."""

from __future__ import annotations

import pytest

from tests.ids_connection import BASE_URL, _fast_retries, conn, hotel, make_connection
from tests.sandbox import RunningSandbox

__all__ = ["BASE_URL", "_fast_retries", "conn", "hotel", "make_connection"]


@pytest.fixture(scope="module")
def sandbox_process():
    with RunningSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process: RunningSandbox) -> RunningSandbox:
    sandbox_process.start()  # in case a test stopped it
    sandbox_process.reset()
    return sandbox_process
