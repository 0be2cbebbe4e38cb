"""`GET /metrics`: Prometheus text exposition (see service.metrics for what is measured and why).

Unauthenticated, as Prometheus scrapers expect: it shows counts and durations, never an incident's
content. Deployments that expose the API publicly should block `/metrics` at the proxy (compose.yaml
only publishes it on the internal network).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.metrics import ScrapeCollector

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    collector = ScrapeCollector(getattr(request.app.state, "sessionmaker", None))
    return Response(generate_latest(collector), media_type=CONTENT_TYPE_LATEST)
