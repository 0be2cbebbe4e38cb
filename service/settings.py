"""Service configuration, read once from the environment (prefix `POSTMORTEM_`) or given in code.

Why pydantic-settings: the same typed model serves `postmortem serve`, the Celery worker and the
tests (which build it directly), and a wrong value fails at start with the field's name instead of
deep inside a request. The secret key is never required up front: if none is given it is generated
on first start and kept in the data dir, so restarts (and every worker sharing that dir) keep
signing cookies with the same key.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.archive import DEFAULT_MAX_BYTES

SECRET_FILE = "secret_key"


def _default_data_dir() -> Path:
    return Path(user_data_dir("postmortem-lead", appauthor=False)) / "service"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSTMORTEM_", extra="ignore")

    # POSTMORTEM_DATABASE_URL, else the CLI's POSTMORTEM_DB, else (None) the user data file: the CLI
    # and the service open the same database unless told otherwise.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices(
        "database_url", "POSTMORTEM_DATABASE_URL", "POSTMORTEM_DB"))
    data_dir: Path = Field(default_factory=_default_data_dir)
    secret_key: SecretStr | None = None
    queue: Literal["inprocess", "celery"] = "inprocess"
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    # The RabbitMQ queue of draft jobs: a separate name per deployment (or per test run) keeps two
    # installations on one broker apart. The API publishes to it and `postmortem worker` consumes it.
    celery_queue: str = Field(default="postmortem-drafts", min_length=1)
    # A job delivered more often than this (each delivery killed its worker: an OOM on a huge
    # archive, say) is failed with a clear error instead of being redelivered forever.
    max_job_attempts: int = Field(default=3, gt=0)
    upload_cap_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    # Server-side folders an admin may register as dumps; nothing outside them is read.
    allowed_roots: list[Path] = Field(default_factory=list)
    pagerduty_webhook_secret: SecretStr | None = None
    # Secure cookies need HTTPS; off by default so a plain-HTTP local install can log in at all.
    cookie_secure: bool = False
    session_ttl_s: int = Field(default=12 * 3600, gt=0)
    # Login rate limit: failures allowed per window, counted per username and per client address.
    login_max_failures_per_user: int = Field(default=5, gt=0)
    login_max_failures_per_address: int = Field(default=20, gt=0)
    login_window_s: int = Field(default=15 * 60, gt=0)

    def resolved_database_url(self) -> str:
        from incidents.db import resolve_url

        return resolve_url(self.database_url)

    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def resolved_secret_key(self) -> str:
        """The configured key, else the one stored in the data dir, else a new one stored there."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting together must not both write (and disagree on) a key.
        try:
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(key)
            path.chmod(0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        return key
