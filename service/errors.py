"""The one error shape every route returns: `{"error": ..., "hint": ...}` (never a traceback).

Routes raise `ApiError`; `service.app` turns it, validation errors, HTTP errors and anything
unexpected into `ErrorBody` JSON. The hint says what to do next, as the project's CLI errors do.
"""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    error: str
    hint: str


class ApiError(Exception):
    def __init__(self, status: int, error: str, hint: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.hint = hint
        self.headers = headers

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.error, hint=self.hint)


def not_authenticated() -> ApiError:
    return ApiError(401, "not authenticated",
                    "log in at POST /api/auth/login or send 'Authorization: Bearer pml_...'",
                    headers={"WWW-Authenticate": "Bearer"})


def forbidden(need: str) -> ApiError:
    return ApiError(403, "forbidden", f"this needs the {need} role; ask an admin")


def incident_not_found(incident_id: int) -> ApiError:
    # Same answer for "missing" and "restricted, not a member": existence itself is not disclosed.
    return ApiError(404, f"incident {incident_id} not found",
                    "check the id with GET /api/incidents; restricted incidents need membership")


# Response documentation for routes: which error codes they can answer with, as ErrorBody.
def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: {"model": ErrorBody} for code in codes}
