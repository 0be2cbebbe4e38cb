"""`create_app(settings)`: the FastAPI application, its routers and its error handling.

Why FastAPI: typed request/response models become the OpenAPI document for free, and dependencies
(`service.auth.deps`) put authentication and access checks in one place every route shares.

Every error leaves as `{"error": ..., "hint": ...}` JSON (service.errors.ErrorBody); an unexpected
exception is logged server-side and answered with a generic 500, never its traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.db import open_sessionmaker
from service.errors import ApiError, ErrorBody
from service.settings import ServiceSettings

log = logging.getLogger("service")

# Each module exports `router`. The core routers are always there; the others are mounted when
# their module exists, so the engineers building them can land independently (the lead may make
# this list static at merge).
CORE_ROUTERS = ("service.routes.health", "service.routes.auth", "service.routes.incidents")
OPTIONAL_ROUTERS = ("service.routes.drafts", "service.routes.chat", "service.routes.webhooks",
                    "service.routes.metrics", "service.web")

_HTTP_HINTS = {
    404: "check the path against /docs (the OpenAPI document is at /openapi.json)",
    405: "check the HTTP method against /docs",
}


def _json_error(status: int, error: str, hint: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(error=error, hint=hint).model_dump(), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _json_error(exc.status, exc.error, exc.hint, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # The message names fields and rules only; the rejected input is not echoed back.
        return _json_error(422, _validation_message(exc), "fix the named fields and retry; see /docs")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        hint = _HTTP_HINTS.get(exc.status_code, "see /docs for this route")
        return _json_error(exc.status_code, str(exc.detail), hint, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json_error(500, "internal error", "retry; if it persists, an admin can find the cause "
                                                  "in the server log")


def _openapi_with_error_bodies(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated document, corrected so it says what the handlers above really send.

    FastAPI documents error responses in the route's own media type (text/html for an HTML export)
    and 422 as its HTTPValidationError; every error here is an `ErrorBody` in JSON.
    """
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            ref = {"$ref": "#/components/schemas/ErrorBody"}
            schema.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = \
                ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            for ops in schema.get("paths", {}).values():
                for op in ops.values():
                    if "requestBody" in op:
                        # A body Starlette cannot parse at all (not JSON, broken multipart) is a 400.
                        op.setdefault("responses", {}).setdefault("400", {"description": "Malformed request body"})
                    for code, response in op.get("responses", {}).items():
                        if code.startswith(("4", "5")):
                            response["content"] = {"application/json": {"schema": ref}}
                            if code == "422":
                                response["description"] = "Invalid request (fields named in `error`)"
            for unused in ("HTTPValidationError", "ValidationError"):
                schema["components"]["schemas"].pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema
    return openapi


def _router_modules() -> list[str]:
    present = [m for m in OPTIONAL_ROUTERS if importlib.util.find_spec(m) is not None]
    return [*CORE_ROUTERS, *present]


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Started here, not on the first draft request: the in-process queue resubmits the jobs a
        # previous process left queued or running as it starts, so they resume without waiting for
        # someone to submit a new draft. A queue set before start-up (tests) is kept.
        if getattr(app.state, "queue", None) is None:
            from service.jobs import make_queue

            app.state.queue = make_queue(settings)
        yield
        queue = getattr(app.state, "queue", None)
        if queue is not None:
            queue.close()
        app.state.sessionmaker.kw["bind"].dispose()

    app = FastAPI(title="postmortem-lead service", version="0.1.0", lifespan=lifespan,
                  description="Drafts, stores and serves blameless post-incident reviews.",
                  responses={500: {"model": ErrorBody}})
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    app.state.sessionmaker = open_sessionmaker(settings.resolved_database_url())
    install_error_handlers(app)
    app.openapi = _openapi_with_error_bodies(app)  # type: ignore[method-assign]
    for name in _router_modules():
        app.include_router(importlib.import_module(name).router)
    return app
