"""Production security: HTTPS settings, no fallback secret key, login lockout, password reset by
e-mail, idle sessions, and endpoints that may not reach the server's own neighbourhood."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

import pytest
from django.core import mail
from django.urls import reverse

from amperity_sources.netguard import AddressNotAllowed, address_problem, check_url
from credentials.models import Credential
from credentials.services import credential_create, credential_test
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SOURCES_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_check_deploy_is_clean_behind_https():
    done = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_DEBUG="0", SOURCES_HTTPS="1", DJANGO_SECRET_KEY="k" * 20 + "-Zq9#x" * 10,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_a_secret_key_the_product_refuses_to_start():
    done = _manage("check", DJANGO_DEBUG="0")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_https_setting_turns_on_hsts_redirect_and_secure_cookies():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SOURCES_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="amperity_sources.settings", DJANGO_SECRET_KEY="x" * 50,
        SOURCES_HTTPS="1", SOURCES_TRUST_X_FORWARDED_PROTO="1",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.stdout.split() == [
        "True", "True", "True", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"
    ]  # fmt: skip


def test_repeated_failed_logins_lock_the_user_name_out(client, django_user_model, settings):
    django_user_model.objects.create_user("ana", password="right-password-1")
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "ana", "password": "wrong"})
        assert response.status_code == 200  # the form, with its error
    assert client.post(url, {"username": "ana", "password": "wrong"}).status_code == 429
    locked = client.post(url, {"username": "ana", "password": "right-password-1"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_good_login_before_the_limit_resets_the_count(client, django_user_model, settings):
    django_user_model.objects.create_user("ben", password="right-password-1")
    url = reverse("login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(url, {"username": "ben", "password": "wrong"})
    assert client.post(url, {"username": "ben", "password": "right-password-1"}).status_code == 302


def test_password_reset_by_email_works_without_being_logged_in(client, django_user_model):
    django_user_model.objects.create_user("cy", email="cy@example.com", password="old-pass-123")
    login_page = client.get(reverse("login")).content.decode()
    assert reverse("password_reset") in login_page  # "Forgot your password?"
    response = client.post(reverse("password_reset"), {"email": "cy@example.com"})
    assert response.status_code == 302
    [message] = mail.outbox
    link = next(line for line in message.body.splitlines() if "/accounts/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form = client.get("/" + path, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else "/" + path,
        {"new_password1": "new-pass-456!", "new_password2": "new-pass-456!"},
    )
    assert done.status_code == 302
    assert django_user_model.objects.get(username="cy").check_password("new-pass-456!")


def test_sessions_end_after_the_idle_timeout(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST  # every request renews the idle window
    assert settings.SESSION_COOKIE_AGE == 480 * 60  # SOURCES_SESSION_IDLE_MINUTES default


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254"],
)
def test_link_local_and_metadata_addresses_are_never_allowed(address, settings):
    settings.SOURCES_ALLOWED_PRIVATE_NETWORKS = ["0.0.0.0/0", "::/0"]
    assert "never allowed" in address_problem(ipaddress.ip_address(address))


def test_private_and_loopback_addresses_need_the_setting(settings):
    settings.SOURCES_ALLOWED_PRIVATE_NETWORKS = []
    for address in ("10.1.2.3", "192.168.0.5", "127.0.0.1", "::1"):
        assert "SOURCES_ALLOWED_PRIVATE_NETWORKS" in address_problem(ipaddress.ip_address(address))
    settings.SOURCES_ALLOWED_PRIVATE_NETWORKS = ["10.0.0.0/8"]
    assert address_problem(ipaddress.ip_address("10.1.2.3")) is None
    assert address_problem(ipaddress.ip_address("8.8.8.8")) is None


def test_a_credential_cannot_point_at_the_metadata_address():
    with pytest.raises(Exception) as refused:
        credential_create(
            name="meta", kind=Credential.Kind.IAM, access_key_id="AKIDEXAMPLE",
            secret_access_key="s", endpoint_url="http://169.254.169.254/latest",
        )  # fmt: skip
    assert "not allowed" in str(refused.value)
    with pytest.raises(AddressNotAllowed):
        check_url("http://169.254.169.254/")


def test_connection_test_says_not_allowed_without_connecting(settings):
    credential = credential_create(
        name="lan", kind=Credential.Kind.IAM, access_key_id="AKIDEXAMPLE",
        secret_access_key="s", endpoint_url="http://127.0.0.1:9",
    )  # fmt: skip
    settings.SOURCES_ALLOWED_PRIVATE_NETWORKS = []  # the network was allowed, then withdrawn
    result = credential_test(credential=credential, bucket="some-bucket")
    assert not result.ok
    assert result.problem == "address_not_allowed"
    assert "not allowed" in result.message
    assert "refused" not in result.message.lower()  # says nothing about the port
