"""Page rendering for the web app: the Jinja2 environment, the page route class, error pages.

Why server-rendered Jinja2 with autoescape on for every template: evidence and report text are
untrusted, and escaping by default means a template cannot forget it. Report Markdown goes through
`service.render_html` (markdown-it with raw HTML disabled), the one Markdown renderer of the service.

Why a route class (`PageRoute`): the app's error handlers answer JSON, which is right for `/api` and
wrong for a browser. Wrapping the page handlers (dependencies included) turns the same `ApiError`s
into pages: 401 becomes a redirect to the login page, 403/404/409 an HTML page with the hint, so the
page routes reuse the API's access rules unchanged (a restricted incident is the same 404 page as a
missing one). Every page carries a strict Content-Security-Policy: only this app's own script and
style files run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from service.auth import csrf
from service.errors import ApiError

log = logging.getLogger("service.web")

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE / "templates"
STATIC_DIR = PACKAGE / "static"

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _markdown(text: str) -> Markup:
    # The service's one Markdown renderer (HTML disabled, so every tag in the text comes out escaped).
    from service.render_html import render_markdown_body

    return Markup(render_markdown_body(text))  # noqa: S704 - safe: raw HTML is disabled in this renderer


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = _markdown
    env.filters["duration"] = human_seconds
    return env


def human_seconds(value: float | None) -> str:
    """A duration the report computed, written as the report writes it (agent.offline.detection),
    so the side panel and the report text agree; None stays a gap, shown as a dash."""
    from agent.offline.detection import human_duration

    return "—" if value is None else human_duration(value)


templates = Jinja2Templates(env=_environment())


def csrf_token(request: Request) -> str:
    """The form token of the signed-in session ('' on pages without one, e.g. the login page)."""
    sid = getattr(request.state, "session_id", None)
    return csrf.token_for(sid, request.app.state.secret_key) if sid else ""


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    base = {"request": request, "csrf_token": csrf_token(request), "user": None, "error": None, "notice": None}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site; anything else (//host, scheme:) becomes `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_redirect(request: Request) -> RedirectResponse:
    # After logging in, a GET comes back to where it was; a refused form POST starts at the home page.
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "") if request.method == "GET" else "/"
    return RedirectResponse(f"/login?next={quote(local_path(here), safe='/')}", status_code=303)


_TITLES = {401: "Please log in", 403: "Not allowed", 404: "Not found", 409: "Not possible right now",
           413: "Upload too large", 415: "Not an archive", 422: "Check the form", 429: "Too many attempts"}


def error_page(request: Request, status: int, error: str, hint: str) -> HTMLResponse:
    return page(request, "error.html", {"status": status, "title": _TITLES.get(status, "Something went wrong"),
                                        "message": error, "hint": hint}, status_code=status)


class PageRoute(APIRoute):
    """A route whose errors become HTML pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = login_redirect(request) if exc.status == 401 else \
                    error_page(request, exc.status, exc.error, exc.hint)
            except RequestValidationError:
                response = error_page(request, 422, "the form or address is not valid",
                                      "go back, check the fields and send it again")
            except Exception:  # noqa: BLE001 - no traceback reaches a browser either
                log.exception("unhandled error on page %s %s", request.method, request.url.path)
                response = error_page(request, 500, "internal error",
                                      "retry; if it persists, an admin can find the cause in the server log")
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            return response

        return page_handler
