"""Deployment settings: `DJANGO_SECURE=true` passes `manage.py check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from trading.chain.artifacts import project_root


def _check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LISTONIAN_"))}
    clean.update(DJANGO_SECRET_KEY=secrets.token_urlsafe(64), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=project_root(),
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_tls_deployment_passes_check_deploy() -> None:
    result = _check_deploy(DJANGO_SECURE="true", DJANGO_ALLOWED_HOSTS="bot.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_the_switch_check_deploy_names_what_is_missing() -> None:
    result = _check_deploy(DJANGO_ALLOWED_HOSTS="bot.example.com")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
