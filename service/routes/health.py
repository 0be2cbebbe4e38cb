"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers).

Readiness runs one trivial query, so a load balancer stops sending traffic to an instance that lost
its database instead of letting every request fail with a 500.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from incidents.db import current_revision, head_revision
from service.errors import ErrorBody

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    schema_revision: str | None


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses={503: {"model": ErrorBody}})
def readyz(request: Request) -> Ready | JSONResponse:
    factory = request.app.state.sessionmaker
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
            engine = session.get_bind()
        revision = current_revision(engine)  # type: ignore[arg-type]
    except Exception as exc:  # any driver error means "not ready"; the message names the cause
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return JSONResponse(ErrorBody(error=f"database unreachable: {first}",
                                      hint="check POSTMORTEM_DATABASE_URL and that the server is up"
                                      ).model_dump(), status_code=503)
    if revision != head_revision():
        return JSONResponse(ErrorBody(error=f"database schema at {revision}, expected {head_revision()}",
                                      hint="restart the service so it migrates the database").model_dump(),
                            status_code=503)
    return Ready(status="ok", database=engine.dialect.name, schema_revision=revision)
