"""Tokens, passwords and personal data never reach the logs: every log line of a whole
story through the API (failed and good logins, a password reset by e-mail, the new
password, logout) is captured and searched for them. Production settings refuse to
start with the development e-mail sender."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner
from pydantic import SecretStr

from hotline.platform.auth.passwords import hash_password
from hotline.platform.logging import configure_logging, scrub
from hotline.platform.settings import ProductionSettingsError, Settings, reset_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import User

from .conftest import Gql

OLD_PASSWORD = "Old-Secret-Pass-41"
NEW_PASSWORD = "New-Secret-Pass-42"
EMAIL = "wang.fang@example.org"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[io.StringIO]:
    """Every log line (structlog and the standard library) of the test, as JSON."""
    monkeypatch.setenv("HOTLINE_HOME", str(tmp_path))
    monkeypatch.setenv("HOTLINE_SMTP_URL", "")
    monkeypatch.setenv("HOTLINE_LOG_JSON", "true")
    monkeypatch.setenv("HOTLINE_LOG_LEVEL", "DEBUG")
    reset_settings()
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(stream=buffer)
    yield buffer
    structlog.configure(**saved_structlog)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    monkeypatch.undo()
    reset_settings()


async def test_a_login_and_password_reset_story_leaves_no_secret_in_the_logs(
    gql: Gql, captured: io.StringIO, tmp_path: Path
) -> None:
    with use_scope(Scope.platform()):
        await User.create(
            username="wangfang",
            display_name="王芳",
            email=EMAIL,
            password_hash=hash_password(OLD_PASSWORD),
        )
    wrong = await gql(
        'mutation { login(username: "wangfang", password: "Guess-Pass-1") { errors { code } } }'
    )
    assert wrong.data["login"]["errors"][0]["code"] == "AUTH_FAILED"
    first_access, first_refresh = await gql.login("wangfang", OLD_PASSWORD)
    requested = await gql(
        f'mutation {{ requestPasswordReset(usernameOrEmail: "{EMAIL}") {{ ok }} }}'
    )
    assert requested.ok()["requestPasswordReset"]["ok"] is True
    # the development sender saved the message instead of logging it
    [mail] = list((tmp_path / "mail").glob("*.eml"))
    assert oct(mail.stat().st_mode & 0o777) == "0o600"
    body = message_from_bytes(mail.read_bytes(), policy=default).get_body()
    assert body is not None
    match = re.search(r"token=([\w.\-]+)", str(body.get_content()))
    assert match is not None
    reset_token = match.group(1)
    reset = await gql(
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) "
        "{ ok errors { code } } }",
        {"t": reset_token, "p": NEW_PASSWORD},
    )
    assert reset.ok()["resetPassword"]["ok"] is True
    access, refresh = await gql.login("wangfang", NEW_PASSWORD)
    logout = await gql(
        "mutation($r: String!) { logout(refreshToken: $r) { ok } }", {"r": refresh}, token=access
    )
    assert logout.ok()["logout"]["ok"] is True
    # and what a careless call would log, through structlog and the standard library
    structlog.get_logger("story").warning(
        "careless", password=NEW_PASSWORD, phone="13800138000", detail=f"Bearer {access}"
    )
    logging.getLogger("story.stdlib").warning(
        "reset link %s for %s, mobile +86 139 1234 5678",
        f"https://hotline.example/reset-password?token={reset_token}",
        EMAIL,
    )

    logs = captured.getvalue()
    assert "email.saved" in logs
    assert "careless" in logs
    assert "reset link" in logs
    for secret in (
        OLD_PASSWORD,
        NEW_PASSWORD,
        "Guess-Pass-1",
        reset_token,
        first_access,
        first_refresh,
        access,
        refresh,
        EMAIL,
        "13800138000",
        "139 1234 5678",
    ):
        assert secret not in logs, secret


def test_scrub_keeps_the_rest_of_the_line() -> None:
    assert scrub("user 12 from 10.0.0.7 asked ticket SD2026000123") == (
        "user 12 from 10.0.0.7 asked ticket SD2026000123"
    )
    assert scrub("call 0086-138 0013 8000 or a@b.cn") == "call [phone] or [email]"
    assert scrub("POST /cgi-bin/message?access_token=AbC123&x=1") == (
        "POST /cgi-bin/message?access_token=[redacted]&x=1"
    )
    assert "s3cr" not in scrub("GET /cgi-bin/token?appid=wx1&secret=s3cr")


def test_production_refuses_the_development_mail_sender() -> None:
    production = Settings(env="production", smtp_url="")
    assert any("HOTLINE_SMTP_URL" in p for p in production.production_problems())
    with pytest.raises(ProductionSettingsError, match="HOTLINE_ALLOW_LOG_EMAIL"):
        production.require_production_ready()
    token = SecretStr("scrape")
    ready = Settings(env="production", smtp_url="smtp://mail:25", metrics_token=token)
    assert ready.production_problems() == []
    assert (
        Settings(
            env="production", allow_log_email=True, metrics_enabled=False
        ).production_problems()
        == []
    )
    # /metrics answers only a scraper holding the token in production
    open_metrics = Settings(env="production", smtp_url="smtp://mail:25")
    assert any("HOTLINE_METRICS_TOKEN" in p for p in open_metrics.production_problems())
    assert Settings(env="development").production_problems() == []
    from hotline.schema.app import create_app

    with pytest.raises(ProductionSettingsError):
        create_app(production, manage_orm=False)


def test_hotline_serve_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.platform.cli import main

    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.setenv("HOTLINE_SMTP_URL", "")
    reset_settings()
    try:
        result = CliRunner().invoke(main, ["serve", "--port", "1"])
    finally:
        monkeypatch.undo()
        reset_settings()
    assert result.exit_code != 0
    assert "refusing to start" in result.output
    assert "HOTLINE_SMTP_URL" in result.output
