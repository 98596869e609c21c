"""Without the OpenTravel schemas the suite fails, and says where they are published;
it never passes by skipping what it could not check."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

from tests.ota.conftest import ota_dir


def run_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PEMA_OTA_DIR": str(tmp_path / "nowhere"),
        # Its own throw-away database: this run must never touch the outer run's.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'inner.sqlite3'}",
        "PEMA_TEST_DB_NAME": str(tmp_path / "inner-test.sqlite3"),
        "PEMA_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_schemas_fail_the_run_and_say_where_they_are_published(tmp_path):
    result = run_pytest(
        tmp_path,
        "tests/ota/test_samples.py",
        "tests/ota/test_codec.py::test_built_message_is_valid_against_the_2011b_schema",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "skipped" not in output.splitlines()[-1], output[-1000:]
    assert "OpenTravel Alliance's 2011B message specifications" in output
    assert "OpenTravel/OpenTravel-Specifications" in output
    assert "PEMA_OTA_DIR" in output and str(tmp_path / "nowhere") in output


def test_this_checkout_has_them():
    assert (ota_dir() / "2011B" / "schemas").is_dir()
    assert (ota_dir() / "2011B" / "samples").is_dir()
