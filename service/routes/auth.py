"""Login, logout, the caller's account, personal API tokens, and user administration (admin)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import csrf, ratelimit, sessions, tokens
from service.auth.deps import client_address, current_user, get_settings, require_role, secret_key
from service.auth.passwords import hash_password, needs_rehash, verify_password
from service.db import get_session
from service.errors import ApiError, error_responses
from service.models import ApiToken, Role, User
from service.schema import UtcDateTime
from service.settings import ServiceSettings
from service import users

router = APIRouter(prefix="/api", tags=["auth"])


class UserView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: UtcDateTime


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    user: UserView
    csrf_token: str = Field(description="Send in the X-CSRF-Token header on unsafe requests")


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)


class TokenView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class TokenCreated(TokenView):
    token: str = Field(description="The token itself; shown only in this response")


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role = Role.viewer
    password: str | None = Field(default=None, max_length=1024,
                                 description="Omit to have a password generated and returned once")


class UserCreated(BaseModel):
    user: UserView
    generated_password: str | None


class UserUpdate(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


_COOKIE_ERRORS = error_responses(401, 403)


def _set_cookies(response: Response, settings: ServiceSettings, cookie: str, csrf_token: str) -> None:
    common = {"max_age": settings.session_ttl_s, "path": "/", "samesite": "lax",
              "secure": settings.cookie_secure}
    response.set_cookie(sessions.COOKIE, cookie, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by the page's script on purpose: it is echoed back in the X-CSRF-Token header.
    response.set_cookie(csrf.COOKIE, csrf_token, httponly=False, **common)  # type: ignore[arg-type]


@router.post("/auth/login", response_model=LoginResponse, responses=error_responses(401, 422, 429))
def login(body: LoginRequest, request: Request, response: Response,
          session: Session = Depends(get_session),
          settings: ServiceSettings = Depends(get_settings)) -> LoginResponse:
    """Password login: sets the HttpOnly session cookie and the CSRF cookie."""
    client = client_address(request)
    ratelimit.check(session, body.username, client, settings)
    user = users.by_name(session, body.username)
    ok = verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok or user.disabled:
        ratelimit.record_failure(session, body.username, client, settings)
        raise ApiError(401, "wrong username or password", "check both and retry; repeated failures "
                                                          "lock the login for a while")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(body.password)
    ratelimit.clear_user(session, body.username)
    key = secret_key(request)
    # Always a fresh session id: a cookie planted before login never becomes an authenticated one.
    sid, cookie = sessions.start(session, user, key, settings.session_ttl_s)
    token = csrf.token_for(sid, key)
    _set_cookies(response, settings, cookie, token)
    return LoginResponse(user=UserView.model_validate(user), csrf_token=token)


@router.post("/auth/logout", status_code=204, responses=_COOKIE_ERRORS)
def logout(request: Request, response: Response, user: User = Depends(current_user),
           session: Session = Depends(get_session)) -> Response:
    """Ends the cookie session (a bearer-token caller has none; revoke the token instead)."""
    sid = getattr(request.state, "session_id", None)
    if sid:
        sessions.end(session, sid)
    response.status_code = 204
    response.delete_cookie(sessions.COOKIE, path="/")
    response.delete_cookie(csrf.COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=UserView, responses=error_responses(401))
def me(user: User = Depends(current_user)) -> UserView:
    return UserView.model_validate(user)


@router.post("/auth/password", status_code=204, responses=error_responses(401, 403, 422))
def change_password(body: PasswordChange, user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """Changes the caller's password and ends all their sessions (log in again)."""
    if not verify_password(user.password_hash, body.current_password):
        raise ApiError(403, "current password is wrong", "retype your current password")
    user.password_hash = hash_password(users.check_password(body.new_password))
    session.commit()
    sessions.end_all_for(session, user.id)
    return Response(status_code=204)


@router.get("/auth/tokens", response_model=list[TokenView], responses=error_responses(401))
def list_tokens(user: User = Depends(current_user), session: Session = Depends(get_session)) -> list[TokenView]:
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    return [TokenView.model_validate(r) for r in rows]


@router.post("/auth/tokens", response_model=TokenCreated, status_code=201, responses=_COOKIE_ERRORS)
def create_token(body: TokenCreate, user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> TokenCreated:
    """A personal API token with the caller's own role; the token is shown only here."""
    row, plain = tokens.issue(session, user, body.name)
    session.commit()
    return TokenCreated(**TokenView.model_validate(row).model_dump(), token=plain)


@router.delete("/auth/tokens/{token_id}", status_code=204, responses=error_responses(401, 403, 404))
def revoke_token(token_id: int, user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise ApiError(404, f"token {token_id} not found", "list your tokens with GET /api/auth/tokens")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(timezone.utc)
        session.commit()
    return Response(status_code=204)


@router.get("/users", response_model=list[UserView], tags=["users"], responses=error_responses(401, 403))
def list_users(_admin: User = Depends(require_role(Role.admin)),
               session: Session = Depends(get_session)) -> list[UserView]:
    return [UserView.model_validate(u) for u in session.scalars(select(User).order_by(User.id)).all()]


@router.post("/users", response_model=UserCreated, status_code=201, tags=["users"],
             responses=error_responses(401, 403, 409, 422))
def create_user(body: UserCreate, _admin: User = Depends(require_role(Role.admin)),
                session: Session = Depends(get_session)) -> UserCreated:
    user, generated = users.create(session, body.username, body.role, body.password)
    session.commit()
    return UserCreated(user=UserView.model_validate(user), generated_password=generated)


@router.patch("/users/{user_id}", response_model=UserView, tags=["users"],
              responses=error_responses(401, 403, 404, 422))
def update_user(user_id: int, body: UserUpdate, admin: User = Depends(require_role(Role.admin)),
                session: Session = Depends(get_session)) -> UserView:
    """Change a user's role, disable them, or set a new password; the last two log them out."""
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, f"user {user_id} not found", "list users with GET /api/users")
    if user.id == admin.id and (body.disabled or (body.role is not None and body.role is not Role.admin)):
        raise ApiError(422, "an admin cannot demote or disable themselves",
                       "ask another admin, so the service always keeps one")
    if body.role is not None:
        user.role = body.role
    if body.disabled is not None:
        user.disabled = body.disabled
    if body.password is not None:
        user.password_hash = hash_password(users.check_password(body.password))
    session.commit()
    if body.disabled or body.password is not None:
        sessions.end_all_for(session, user.id)
    return UserView.model_validate(user)
