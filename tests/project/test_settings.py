"""Settings refuse an unsafe production start; the development defaults need no server."""

import os
import subprocess
import sys

from django.conf import settings

BASE = str(settings.BASE_DIR)


def start(env: dict) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE belongs to the test process, not production.
    dropped = ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=BASE,
        env={**clean, "DJANGO_SETTINGS_MODULE": "pema.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_secret_key_refuses_to_start():
    result = start({"DEBUG": "false", "ALLOWED_HOSTS": "pema.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_without_allowed_hosts_refuses_to_start():
    result = start({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_debug_off_with_both_starts():
    result = start(
        {
            "DEBUG": "false",
            "SECRET_KEY": "a-real-production-secret-" * 3,
            "ALLOWED_HOSTS": "pema.example.com",
            "FIELD_ENCRYPTION_KEY": "k" * 44,
        }
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_embedded_defaults_are_sqlite_wal_and_filesystem_broker(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.DATABASES['default']['OPTIONS']['init_command'])"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE,
        env={**env, "PEMA_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "pema.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3 filesystem:// PRAGMA journal_mode=WAL" in result.stdout
    assert (tmp_path / "dev-secret-key").exists()


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE belongs to the test process, not production.
    dropped = ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE,
        env={
            **clean,
            "DEBUG": "false",
            "SECRET_KEY": "k3y-" + "x9Qz" * 14,
            "ALLOWED_HOSTS": "pema.example.com",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "PEMA_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
