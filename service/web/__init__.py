"""The web app: server-rendered pages over the same rules as the API, mounted by `create_app`.

Pages are Jinja2 templates (service/templates) with a little vanilla JavaScript and CSS of our own
(service/static): every page works without script; with it, a draft's progress updates live from
the drafts event stream. No third-party JS/CSS and no build step, so the pages can be served with a
Content-Security-Policy that allows this app's own files only.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from service.errors import ApiError
from service.web import auth_pages, draft_pages, incident_pages
from service.web.rendering import STATIC_DIR

# The static files, named: a request can never reach any other file on the server.
STATIC_FILES = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False)
router.include_router(auth_pages.router)
router.include_router(incident_pages.router)
router.include_router(draft_pages.router)


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise ApiError(404, f"no static file {name[:64]!r}", "the pages link the files they need")
    return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
