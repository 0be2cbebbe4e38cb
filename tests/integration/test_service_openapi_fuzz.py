"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis).

Every operation in /openapi.json gets generated requests (valid and invalid parameters and bodies),
twice: once as an admin with an API token, so the requests reach the routes' own code past
authentication, and once anonymous, so the authentication path is fuzzed too. Every answer must
be something other than a 5xx and must match what the document says about it (status code,
media type and body schema): the document is the contract clients are generated from.

The app runs on a tmp SQLite database (PagerDuty webhook configured) with one stored incident (id 1, with a report and an
action item) so the incident routes have something to find. Hypothesis is derandomized: the same
examples every run, so a failure here reproduces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from incidents.importers import from_report_json
from incidents.store import save
from service.app import create_app
from service.auth import passwords
from service.auth.tokens import issue
from service.models import Role
from service.settings import ServiceSettings
from service.users import create
from tests.incidents_fixtures import report

EXAMPLES = 12  # per operation and run: the whole file stays well under a minute on 2 cores
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        # A cheap argon2 cost: the fuzzer logs in often (production parameters: test_service_auth.py).
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        mp.setattr(passwords, "_hasher", hasher)
        mp.setattr(passwords, "_DUMMY_HASH", hasher.hash("unused-dummy-password"))
        app = create_app(ServiceSettings(database_url=str(tmp / "service.sqlite"), data_dir=tmp / "data",
                                         secret_key="fuzz-secret-key-not-for-production",
                                         # Configured, so the webhook answers 401 to unsigned bodies
                                         # (unconfigured it is a deliberate, documented 503).
                                         pagerduty_webhook_secret="fuzz-webhook-secret"))
        with app.state.sessionmaker() as session:
            record = from_report_json(report("Stale answers after index rebuild", ["retrieval"],
                                             ["data-staleness"], "deploy", "The index rebuild kept old rows"),
                                      "fuzz/report.json", "# Postmortem: Stale answers after index rebuild\n")
            save(session, record)
            admin, _ = create(session, "fuzz-admin", Role.admin, password="correct horse battery staple")
            token = issue(session, admin, "fuzz")[1]
            session.commit()
        yield app, token
        app.state.sessionmaker.kw["bind"].dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[FastAPI, str]):  # type: ignore[no-untyped-def]
    app, _ = fuzzed
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_admin_requests_never_fail_or_break_the_contract(case: schemathesis.Case,
                                                         fuzzed: tuple[FastAPI, str]) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzzed[1]}"}, checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous_requests_never_fail_or_break_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_fuzzed_document_covers_every_api_route(api_schema) -> None:  # type: ignore[no-untyped-def]
    # Guards against a route silently dropping out of the document (and so out of the fuzzing).
    paths = set(json.loads(json.dumps(api_schema.raw_schema))["paths"])
    assert {"/api/drafts", "/api/incidents/{incident_id}", "/api/auth/login", "/api/webhooks/pagerduty",
            "/api/drafts/{job_id}/chat/answer"} <= paths
