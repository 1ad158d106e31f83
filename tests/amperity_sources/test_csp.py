"""Content-Security-Policy: pages load scripts and styles only from the product itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import ROOT

INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:|hx-on", re.I
)


def _templates() -> list[Path]:
    skip = {".venv", ".data", "node_modules", ".git"}
    return [p for p in ROOT.rglob("*.html") if not skip & set(p.relative_to(ROOT).parts)]


def test_no_template_has_inline_script_style_or_handlers():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
        for path in _templates()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if INLINE.search(line)
    ]
    assert found == []


@pytest.mark.django_db
def test_pages_send_a_policy_without_unsafe_inline(analyst_client):
    response = analyst_client.get(reverse("sources"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


PAGES = [
    "sources",
    "credentials:list",
    "credentials:add",
    "feeds:add",
    "feeds:explorer",
    "notifications:index",
    "courier_groups:add",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_run_without_policy_violations(page, live_server):
    page.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    seen = {}
    for name in PAGES:
        page.goto(live_server.url + reverse(name))
        page.wait_for_load_state("networkidle")
        seen[name] = page.evaluate("window.__violations")
    assert seen == {name: [] for name in PAGES}
