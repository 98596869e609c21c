"""One IDS Next sandbox process per test module, wiped before every test."""

from __future__ import annotations

import pytest

from tests.sandbox import RunningSandbox


@pytest.fixture(scope="module")
def sandbox_process():
    with RunningSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process: RunningSandbox) -> RunningSandbox:
    sandbox_process.start()  # in case a test stopped it
    sandbox_process.reset()
    return sandbox_process
