"""CSRF protection, double-submit with a token bound to the session.

The token is HMAC(secret, session id): it is sent as a readable cookie (`pm_csrf`) and must come
back in the `X-CSRF-Token` header or a `csrf_token` form field on every unsafe request that is
authenticated by the session cookie. A cross-site page can make the browser send cookies but can
neither read the token nor compute it (it needs the secret and the session id), and binding it to
the session means a token planted by a sibling subdomain does not work for someone else's session.
Bearer-token requests are exempt: browsers never attach them on their own.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from service.auth.sessions import COOKIE as SESSION_COOKIE

COOKIE = "pm_csrf"
HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only a urlencoded form is read for the field: its body is small by nature, whereas parsing a
# multipart body would make Starlette spool a whole upload to disk, uncapped, before the route runs.
# Multipart senders (the upload routes) send the header or check the field themselves.
_FORM_TYPE = "application/x-www-form-urlencoded"


def token_for(sid: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), b"csrf:" + sid.encode("utf-8"), hashlib.sha256).hexdigest()


def valid(sent: str | None, sid: str, secret_key: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent), token_for(sid, secret_key))


def cookie_authenticated(request: Request) -> bool:
    """A session cookie and no bearer token: the only requests the CSRF check applies to."""
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    return not bearer and bool(request.cookies.get(SESSION_COOKIE))


async def sent_token(request: Request) -> str | None:
    """The token the request carries: the header, else the field of a urlencoded form POST
    (looked for only on cookie-authenticated requests, the only ones that are checked)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(HEADER)
    if header:
        return header
    if not cookie_authenticated(request):
        return None
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith(_FORM_TYPE):
        return None
    try:  # starlette caches the parsed form, so the route still sees its fields
        form = await request.form()
    except Exception:  # a malformed body or a stream already read: no token, the check refuses
        return None
    value = form.get(FORM_FIELD)
    return value if isinstance(value, str) else None
