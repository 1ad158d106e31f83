"""Every page needs a signed-in user, including one added tomorrow without a thought.

The walk goes through every URL pattern of the root urlconf, so a new page is covered the day
it is added; only the explicit allow-list below may answer an anonymous visitor.
"""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern
from django.utils.regex_helper import normalize

pytestmark = pytest.mark.django_db

# The only routes an anonymous visitor may reach.
OPEN = {
    "healthz",
    "accounts/login/",
    "accounts/logout/",
    "accounts/password_reset/",
    "accounts/password_reset/done/",
    "accounts/reset/<uidb64>/<token>/",
    "accounts/reset/done/",
    "admin/login/",
    "favicon.ico",
}

SAMPLES = {"int": "1", "str": "x", "slug": "x", "path": "x/y", "uuid": str(uuid.UUID(int=1))}
REGEX_SAMPLES = ["auth", "1", "x"]


def _patterns(patterns, prefix=""):
    """(route as written, pattern) for every leaf of the urlconf."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _sample_url(route: str, pattern: URLPattern) -> str:
    """A URL that resolves to ``pattern``'s view: converters filled with sample values."""
    if isinstance(pattern.pattern, RegexPattern):  # admin's re_path()s, after a path() prefix
        template, params = normalize(route.replace("^", "").replace("$", ""))[0]
        for value in REGEX_SAMPLES:
            url = "/" + template % dict.fromkeys(params, value)
            if resolve(url).func == pattern.callback:
                return url
        raise AssertionError(f"no sample URL resolves to {route}")
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES[m.group(1) or "str"], route)


ROUTES = sorted(_patterns(get_resolver().url_patterns), key=lambda item: item[0])


@pytest.mark.parametrize(("route", "pattern"), ROUTES, ids=[route or "/" for route, _ in ROUTES])
def test_an_anonymous_visitor_is_sent_to_log_in(client, route, pattern):
    url = _sample_url(route, pattern)
    assert resolve(url).func == pattern.callback, f"{url} does not reach {route}"
    response = client.get(url)
    # The admin's own views send a visitor to the admin's log-in page (they carry its login_url).
    login_pages = {reverse("login")} | (
        {reverse("admin:login")} if route.startswith("admin/") else set()
    )
    if route in OPEN:
        assert not response.get("Location", "").startswith(tuple(login_pages)), url
    else:
        assert response.status_code == 302, f"{url} answered {response.status_code}"
        assert response["Location"] in {f"{page}?next={url}" for page in login_pages}


def test_the_allow_list_names_only_routes_that_exist():
    assert OPEN <= {route for route, _ in ROUTES}


def test_open_pages_answer_without_a_login(client):
    assert client.get("/healthz").content == b"ok"
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("password_reset")).status_code == 200


def test_logging_out_after_the_session_expired_lands_on_log_in(client):
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
