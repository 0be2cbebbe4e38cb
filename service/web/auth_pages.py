"""Login and logout pages.

Login reuses the API's login function (`service.routes.auth.login`): the same rate limit, password
check and session cookies, so there is one login rule. The login form has no session yet, so its
CSRF token is a random value in a short-lived cookie echoed in the form (double submit): another
site cannot log a browser into an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.auth import csrf, sessions
from service.auth.deps import current_user, get_settings
from service.db import get_session
from service.errors import ApiError
from service.models import User
from service.routes.auth import LoginRequest, login
from service.settings import ServiceSettings
from service.web.rendering import PageRoute, local_path, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_CSRF_COOKIE = "pm_login_csrf"
LOGIN_CSRF_TTL_S = 3600


def _login_form(request: Request, next_url: str, error: str | None = None, username: str = "",
                status_code: int = 200) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "login.html", {"login_csrf": token, "next": next_url, "error": error,
                                            "username": username}, status_code=status_code)
    settings: ServiceSettings = request.app.state.settings
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_TTL_S, httponly=True, samesite="strict",
                        secure=settings.cookie_secure, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the query parameter's name
    return _login_form(request, local_path(next))


@router.post("/login", response_model=None)
def login_submit(request: Request, username: str = Form("", max_length=64), password: str = Form("", max_length=1024),
                 csrf_token: str = Form(""), next: str = Form("/"),  # noqa: A002
                 session: Session = Depends(get_session),
                 settings: ServiceSettings = Depends(get_settings)) -> Response:
    target = local_path(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_form(request, target, "The form expired; please log in again.", username, 403)
    try:
        body = LoginRequest(username=username, password=password)
    except ValidationError:
        return _login_form(request, target, "Enter a username and a password.", username, 422)
    carrier = Response()  # collects the session and CSRF cookies the API login sets
    try:
        login(body, request, carrier, session, settings)
    except ApiError as exc:
        return _login_form(request, target, f"{exc.error[:1].upper()}{exc.error[1:]}: {exc.hint}.", username,
                           exc.status)
    response = RedirectResponse(target, status_code=303)
    for key, value in carrier.raw_headers:
        if key.lower() == b"set-cookie":
            response.raw_headers.append((key, value))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout_submit(request: Request, _user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> RedirectResponse:
    """Ends the session (the form's CSRF token was checked by `current_user`)."""
    sid = getattr(request.state, "session_id", None)
    if sid:
        sessions.end(session, sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    response.delete_cookie(csrf.COOKIE, path="/")
    return response
