"""CLI: `postmortem serve` (the HTTP service) and `postmortem users add` (accounts).

`serve` creates the first admin when the database has no user at all and prints its password
once: there is no default password to forget to change, and nothing to configure before the
first login. Heavy imports happen inside the commands so the rest of the CLI starts fast.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

users_app = typer.Typer(no_args_is_help=True, help="Service user accounts.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
DB_HELP = "Database: a SQLite file path or a postgresql:// URL (default: $POSTMORTEM_DATABASE_URL, else $POSTMORTEM_DB, else the user data file)"


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _settings(db: Optional[str]):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from service.settings import ServiceSettings

    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(f"bad setting POSTMORTEM_{str(first['loc'][0]).upper()}: {first['msg']}")
    return settings.model_copy(update={"database_url": db}) if db else settings


def _sessionmaker(settings):  # type: ignore[no-untyped-def]
    from service.db import open_sessionmaker

    try:
        return open_sessionmaker(settings.resolved_database_url())
    except Exception as exc:  # unreachable server, bad URL: one clear line, no traceback
        _fail(f"cannot open the database: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Run the HTTP service (API docs at /docs); creates the first admin on an empty database."""
    import uvicorn

    from service.app import create_app
    from service.users import ensure_first_admin

    settings = _settings(db)
    factory = _sessionmaker(settings)
    with factory() as session:
        first = ensure_first_admin(session)
    factory.kw["bind"].dispose()
    if first:
        name, password = first
        out.print(f"created the first admin: username [bold]{escape(name)}[/], password [bold]{escape(password)}[/]")
        out.print("This password is shown only now; change it after logging in (POST /api/auth/password).")
    if not settings.cookie_secure:
        err.print("[yellow]note:[/] session cookies are not marked Secure; set POSTMORTEM_COOKIE_SECURE=true "
                  "when serving over HTTPS")
    from service.logging import configure_logging

    # One JSON line per log record, uvicorn's access and error logs included: log_config=None keeps
    # uvicorn from installing its own plain-text handlers over ours.
    configure_logging("INFO")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=None)


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Login name"),
    role: str = typer.Option("viewer", help="viewer, editor or admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from stdin (else one is generated and shown once)"),
    db: Optional[str] = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Create a user account."""
    from service.errors import ApiError
    from service.models import Role
    from service.users import create

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"unknown role {role!r}: use viewer, editor or admin")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    factory = _sessionmaker(_settings(db))
    with factory() as session:
        try:
            user, generated = create(session, username, role_value, password or None)
            session.commit()
        except ApiError as exc:
            _fail(f"{exc.error} ({exc.hint})")
    out.print(f"created user {escape(user.username)} ({user.role.value})")
    if generated:
        out.print(f"password: [bold]{escape(generated)}[/] (shown only now)")
