"""The web app in a real headless Chromium (Playwright driving Debian's /usr/bin/chromium), against
uvicorn on a free localhost port with a tmp SQLite database and data dir.

One walk through the product: log in as admin, upload a dump (restricted), watch the progress until
the draft is done, read the draft, correct a timeline row on the review page, answer the facilitator
in the chat, mark an action done on the board, then log in as a viewer who is not a member and find
the incident missing (the 404 page). Screenshots of the main pages go to /tmp/screens/.
"""

from __future__ import annotations

import re
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from service.app import create_app  # noqa: E402
from service.models import Role  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from service.users import create  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
DEVSET_DUMP = Path("/work/shared/devset/sycophancy.tar.gz")  # absent in CI: the bundled example is used
EXAMPLE = ROOT / "examples" / "minor-eval-flake"
SCREENS = Path("/tmp/screens")
PASSWORD = "correct horse battery staple"
DRAFT_TIMEOUT_MS = 120_000  # an upper bound for a slow shared machine, not a speed assertion

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian's chromium package)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dump(tmp: Path) -> Path:
    if DEVSET_DUMP.exists():
        return DEVSET_DUMP
    archive = tmp / "minor-eval-flake.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for p in sorted(EXAMPLE.rglob("*")):
            tf.add(p, arcname=p.relative_to(EXAMPLE).as_posix(), recursive=False)
    return archive


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    tmp = tmp_path_factory.mktemp("browser")
    app = create_app(ServiceSettings(database_url=str(tmp / "service.sqlite"), data_dir=tmp / "data",
                                     secret_key="browser-test-secret-not-for-production"))
    with app.state.sessionmaker() as session:
        for name, role in (("ada", Role.admin), ("val", Role.viewer)):
            create(session, name, role, PASSWORD)
        session.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _login(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/incidents")
    expect(page).to_have_url(re.compile(r"/login\?next=/incidents$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/incidents")
    expect(page.locator("header .who")).to_contain_text(username)


def _answer_ok(page: Page) -> None:
    page.get_by_role("button", name="Accept this stage (ok)").click()


def test_a_review_in_the_browser(browser: Browser, base_url: str, tmp_path: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{base_url}/login")
    _shot(page, "01-login")
    _login(page, base_url, "ada")

    # Upload a restricted dump; the draft page follows the event stream and shows the report when done.
    page.locator("header nav").get_by_role("link", name="Upload a dump").click()
    page.locator('input[type="file"]').set_input_files(str(_dump(tmp_path)))
    page.locator('input[name="restricted"]').check()
    _shot(page, "02-upload")
    page.get_by_role("button", name="Upload and draft").click()
    expect(page).to_have_url(re.compile(r"/drafts/draft-[0-9a-f]+$"))
    job_url = page.url
    progress = page.locator("#progress")
    if progress.count():  # still drafting: the script must be connected to the event stream
        expect(progress).to_have_attribute("data-live", re.compile("connecting|on|done"))
        _shot(page, "03-progress")
    # No click: the page reloads itself on the done event.
    side = page.locator("aside")
    expect(side.get_by_role("heading", name="Change ranking")).to_be_visible(timeout=DRAFT_TIMEOUT_MS)
    for heading in ("Timeline", "Impact", "Validator findings"):
        expect(side.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.locator("article.report h1")).to_be_visible()
    _shot(page, "04-draft")

    # Review: accept scope and evidence, then correct timeline row 1.
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_role("heading", name="Stage 1/7")).to_be_visible(timeout=60_000)
    _answer_ok(page)
    expect(page.get_by_role("heading", name="Stage 2/7")).to_be_visible(timeout=60_000)
    _answer_ok(page)
    expect(page.get_by_role("heading", name="Stage 3/7 - Timeline")).to_be_visible(timeout=60_000)
    row = page.locator("#row-1")
    row.locator("summary").click()
    row.get_by_placeholder("corrected wording").fill("First alert reached the on-call engineer")
    row.get_by_role("button", name="Reword").click()
    expect(page.locator("#row-1")).to_contain_text("First alert reached the on-call engineer")
    expect(page.locator(".reply")).to_be_visible()
    _shot(page, "05-review-timeline")

    # Chat: answer the facilitator in words (a piece of information becomes citable evidence).
    page.get_by_role("link", name="Open the chat").click()
    page.get_by_label("Your answer").fill("The evaluation dashboard was checked by the on-call engineer at the time.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".reply")).to_contain_text("Kept as evidence note:chat:")
    expect(page.locator("ol.remarks")).to_contain_text("The evaluation dashboard was checked")
    _shot(page, "06-chat")

    # Actions board: mark the drafted incident's first action done.
    page.locator("header nav").get_by_role("link", name="Actions", exact=True).click()
    _shot(page, "07-actions")
    first = page.locator("table.actions tbody tr[id^=action-]").first
    action_id = first.get_attribute("id")
    first.get_by_role("button", name="Mark done").click()
    expect(page).to_have_url(re.compile(r"/actions\?show=all"))
    expect(page.locator(f"#{action_id} .tag.status")).to_have_text("done")

    page.goto(f"{base_url}/incidents")
    expect(page.locator("table.list")).to_contain_text("restricted")
    incident_url = page.locator("table.list tbody a").first.get_attribute("href")
    _shot(page, "08-incidents")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{base_url}/login")

    # A viewer who is not a member: the incident is not listed, and opening it is the 404 page.
    _login(page, base_url, "val")
    expect(page.locator("p.count")).to_have_text("0 incidents")
    response = page.goto(f"{base_url}{incident_url}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    response = page.goto(job_url)
    assert response is not None and response.status == 404
    _shot(page, "09-restricted-404")
    assert errors == []
    context.close()
