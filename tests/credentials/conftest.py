"""Fixtures for credentials: a real PGP key, and a second moto server that checks keys."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

SECRET_KEY = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzEXAMPLEKEY"
PASSPHRASE = "tr0ub4dor-and-3"


@pytest.fixture(scope="session")
def secret_key() -> str:
    return SECRET_KEY


@pytest.fixture(scope="session")
def passphrase() -> str:
    return PASSPHRASE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pgp_key(tmp_path_factory) -> dict[str, str]:
    """An ed25519/cv25519 key pair protected by PASSPHRASE, and one with no encryption subkey."""
    gnupg = pytest.importorskip("gnupg")
    if not shutil.which("gpg"):
        pytest.skip("gpg is not installed")
    home = tmp_path_factory.mktemp("gpg")
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")  # fast key protection in tests
    gpg = gnupg.GPG(gnupghome=str(home))
    key = gpg.gen_key(
        gpg.gen_key_input(
            key_type="EDDSA",
            key_curve="ed25519",
            subkey_type="ECDH",
            subkey_curve="cv25519",
            name_email="pgp-test@example.com",
            passphrase=PASSPHRASE,
        )
    )
    return {
        "private_key": gpg.export_keys(key.fingerprint, secret=True, passphrase=PASSPHRASE),
        "public_key": gpg.export_keys(key.fingerprint),
        "passphrase": PASSPHRASE,
    }


@pytest.fixture(scope="session")
def closed_port_endpoint() -> str:
    """An endpoint nothing listens on: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}"


class AuthMoto:
    """A moto server with IAM auth on: unknown keys and missing permissions are refused."""

    def __init__(self, url: str):
        self.url = url

    def _auth(self, count: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},  # a form type would hide the body from moto
        )
        urllib.request.urlopen(request, timeout=5).read()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            aws_access_key_id="admin",
            aws_secret_access_key="admin",
            region_name="us-east-1",
        )

    def setup(self, fn):
        """Run fn with auth off (moto's IAM checks would refuse the bootstrap calls)."""
        self._auth("inf")
        try:
            return fn()
        finally:
            self._auth("0")

    def user(self, name: str, actions: list[str]) -> dict[str, str]:
        """An IAM user allowed these actions on everything; returns its access key."""

        def make():
            iam = self.client("iam")
            iam.create_user(UserName=name)
            if actions:
                policy = {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
                }
                iam.put_user_policy(
                    UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy)
                )
            return iam.create_access_key(UserName=name)["AccessKey"]

        key = self.setup(make)
        return {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


@pytest.fixture(scope="module")
def auth_moto(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("moto-auth") / "moto.log"
    moto_server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0"),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto server with auth did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    yield AuthMoto(url)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
