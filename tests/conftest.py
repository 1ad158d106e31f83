"""Shared fixtures: the real services the suite talks to.

`python3 sources.py test` starts an embedded Postgres, Redis and S3 endpoint (or uses the ones
named by DATABASE_URL, REDIS_URL, S3_ENDPOINT_URL) before pytest starts; pytest-django then
creates the test database, and `celery_worker` starts a real worker process against it.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

import demo

ROOT = Path(__file__).resolve().parent.parent
# Playwright's sync API runs an event loop in the test thread; the ORM calls beside it are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# ---------------------------------------------------------------- S3 over HTTP
@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    url = os.environ.get("S3_ENDPOINT_URL")
    if not url:
        pytest.fail("S3_ENDPOINT_URL is not set: run the suite with `python3 sources.py test`")
    return url


def make_s3_client(endpoint: str):
    return demo.make_s3_client(
        endpoint,
        os.environ.get("S3_ACCESS_KEY_ID", "test"),
        os.environ.get("S3_SECRET_ACCESS_KEY", "test-secret"),
    )


@pytest.fixture(scope="session")
def s3(s3_endpoint):
    return make_s3_client(s3_endpoint)


@pytest.fixture
def s3_credential(db, s3_endpoint):
    """The credential couriers under test use to reach the test S3 endpoint."""
    from tests.factories import make_credential

    return make_credential(s3_endpoint, name="Test S3")


@pytest.fixture
def bucket(s3) -> str:
    """A fresh, empty bucket for one test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


# ---------------------------------------------------------------- Celery worker
def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    host = db.get("HOST") or ""
    user = db.get("USER") or "postgres"
    if host.startswith("/"):
        return f"postgresql://{user}@/{db['NAME']}?host={host}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def spawn_worker(
    log: Path, *celery_args: str, new_session: bool = False, **env: str
) -> subprocess.Popen:
    """A real `celery worker` process on the test database, started and ready (its output in
    ``log``). ``new_session``: its own process group, so a test can SIGKILL all of it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "amperity_sources", "worker", "-l", "info",
         *celery_args],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env=dict(os.environ, DATABASE_URL=_test_database_url(), PYTHONUNBUFFERED="1", **env),
        start_new_session=new_session,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"celery worker did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    process.log_path = log  # type: ignore[attr-defined]
    return process


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """The session's shared worker, connected to the test database and broker."""
    process = spawn_worker(
        tmp_path_factory.mktemp("worker") / "worker.log",
        "--concurrency", "2", "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
        SOURCES_WAIT_RETRY_SECONDS="2",  # runs waiting for late files look again quickly
    )  # fmt: skip
    yield process
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until(predicate, timeout: float = 60, interval: float = 0.3, message: str = ""):
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")


# ---------------------------------------------------------------- users and browser
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Real logins, without paying for a production-strength hash in every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def analyst(django_user_model):
    return django_user_model.objects.create_user("analyst", password=PASSWORD)


@pytest.fixture
def analyst_client(client, analyst):
    client.force_login(analyst)
    return client


@pytest.fixture(scope="session")
def chromium():
    executable = shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed (python3 sources.py test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, analyst):
    """A browser page already logged in through the login form."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", analyst.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()
