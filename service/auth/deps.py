"""FastAPI dependencies: who is calling (`current_user`), what they may do (`require_role`), and
whether they may see an incident (`incident_access`, which audits every restricted access).

Authentication order: an `Authorization: Bearer pml_...` header, else the session cookie. Cookie
requests with an unsafe method must carry the CSRF token (see service.auth.csrf).
Restricted incidents answer 404 to non-members, exactly as a missing id does, so membership
cannot be probed; admins see everything.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import Incident
from service import audit
from service.auth import csrf, sessions, tokens
from service.db import get_session
from service.errors import ApiError, forbidden, incident_not_found, not_authenticated
from service.models import IncidentMember, Role, User
from service.settings import ServiceSettings


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def secret_key(request: Request) -> str:
    return request.app.state.secret_key


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Declared as FastAPI security schemes so the OpenAPI document lists both ways to authenticate.
_bearer_scheme = HTTPBearer(auto_error=False, description="Personal API token: pml_...")
_cookie_scheme = APIKeyCookie(name=sessions.COOKIE, auto_error=False,
                              description="Session cookie from POST /api/auth/login")


def optional_user(request: Request, session: Session = Depends(get_session),
                  bearer: HTTPAuthorizationCredentials | None = Depends(_bearer_scheme),
                  cookie: str | None = Depends(_cookie_scheme),
                  sent_csrf: str | None = Depends(csrf.sent_token)) -> User | None:
    """The caller, or None when no credentials were sent; bad credentials are a 401, not None."""
    if bearer is not None:
        user = tokens.user_for_token(session, bearer.credentials.strip())
        if user is None:
            raise ApiError(401, "invalid or revoked API token", "create a new token at POST /api/auth/tokens",
                           headers={"WWW-Authenticate": "Bearer"})
        return user
    if not cookie:
        return None
    key = secret_key(request)
    sid = sessions.session_id(cookie, key)
    user = sessions.user_for_session(session, sid) if sid else None
    if user is None or sid is None:
        raise ApiError(401, "session expired or invalid", "log in again at POST /api/auth/login")
    if request.method not in csrf.SAFE_METHODS and not csrf.valid(sent_csrf, sid, key):
        raise ApiError(403, "missing or wrong CSRF token",
                       f"send the value of the {csrf.COOKIE} cookie in the {csrf.HEADER} header "
                       f"(a urlencoded form may send it as the {csrf.FORM_FIELD} field instead)")
    request.state.session_id = sid
    return user


def current_user(user: User | None = Depends(optional_user)) -> User:
    if user is None:
        raise not_authenticated()
    return user


def require_role(role: Role) -> Callable[[User], User]:
    """A dependency: the caller, if their role is at least `role`; 403 otherwise."""
    def check(user: User = Depends(current_user)) -> User:
        if not user.role.at_least(role):
            raise forbidden(role.value)
        return user
    check.__name__ = f"require_{role.value}"
    return check


def is_member(session: Session, incident_id: int, user_id: int) -> bool:
    return session.get(IncidentMember, (incident_id, user_id)) is not None


def may_see(session: Session, user: User, incident: Incident) -> bool:
    return (not incident.restricted or user.role is Role.admin
            or is_member(session, incident.id, user.id))


def visible_ids_filter(user: User):  # type: ignore[no-untyped-def]
    """A WHERE clause keeping the incidents `user` may see (for lists, search, trends, similar)."""
    if user.role is Role.admin:
        return Incident.id.is_not(None)
    member_of = select(IncidentMember.incident_id).where(IncidentMember.user_id == user.id)
    return (Incident.restricted.is_(False)) | Incident.id.in_(member_of)


def incident_access(session: Session, user: User, incident_id: int, action: str,
                    client: str | None) -> Incident:
    """The incident if `user` may see it; a restricted one is audited whether granted or denied."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise incident_not_found(incident_id)
    if not incident.restricted:
        return incident
    allowed = may_see(session, user, incident)
    audit.record(session, user=user, incident_id=incident_id, action=action,
                 outcome="granted" if allowed else "denied", client=client)
    if not allowed:
        raise incident_not_found(incident_id)
    return incident


def incident_for(action: str, role: Role = Role.viewer) -> Callable[..., Incident]:
    """A dependency for routes with an `{incident_id}` path parameter: checks role, then access."""
    def dependency(incident_id: int, request: Request, user: User = Depends(require_role(role)),
                   session: Session = Depends(get_session)) -> Incident:
        return incident_access(session, user, incident_id, action, client_address(request))
    dependency.__name__ = f"incident_for_{action.replace('.', '_')}"
    return dependency
