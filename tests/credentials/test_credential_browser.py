"""Create each credential type in the browser and test it, good and bad."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def add(page, kind: str, name: str, **fields) -> None:
    page.goto("/credentials/add/")
    page.select_option("#id_kind", kind)
    page.fill("#id_name", name)
    for field, value in fields.items():
        if field == "base_credential":
            page.select_option("#id_base_credential", label=value)
        else:
            page.fill(f"#id_{field}", value)
    page.click("#credential-form button[type=submit]")
    page.wait_for_selector("text=Test connection")
    assert page.locator(".alert-success").inner_text().startswith(f"Credential “{name}” saved")


def run_test(page, bucket: str = "") -> str:
    """Click Test connection on the edit page; the answer replaces the previous one."""
    if bucket:
        page.fill("#id_bucket", bucket)
    page.eval_on_selector("#test-result", "box => box.replaceChildren()")
    page.click("#test-form button")
    return page.locator("#test-result .test-result").inner_text()


def test_iam_credential_good_and_bad(page, s3_endpoint, bucket, secret_key):
    page.goto("/credentials/add/")
    page.select_option("#id_kind", "iam-credential")
    assert page.locator("#id_secret_access_key").is_visible()
    assert not page.locator("#id_private_key").is_visible()  # fields follow the type
    add(
        page,
        "iam-credential",
        "Heap bucket",
        access_key_id="AKIABROWSERWXYZ",
        secret_access_key=secret_key,
        endpoint_url=s3_endpoint,
    )
    assert secret_key not in page.content()
    assert "Connection successful" in run_test(page, bucket)
    assert "No such bucket: “no-such-bucket-b” does not exist" in run_test(page, "no-such-bucket-b")
    assert "Invalid bucket name" in run_test(page, "Not_A_Bucket")

    page.goto("/credentials/")
    row = page.locator("tr[data-credential='Heap bucket']")
    assert "…WXYZ" in row.inner_text() and "0 couriers" in row.inner_text()
    row.get_by_role("button", name="Test").click()
    assert "Connection successful" in row.locator(".test-result").inner_text()


def test_unreachable_endpoint_and_role_assumption(page, s3_endpoint, bucket, closed_port_endpoint):
    add(page, "iam-credential", "Base", access_key_id="AKIABASE", secret_access_key="base-secret")
    page.fill("#id_endpoint_url", closed_port_endpoint)
    page.click("#credential-form button[type=submit]")
    page.goto("/credentials/")
    row = page.locator("tr[data-credential='Base']")
    row.get_by_role("button", name="Test").click()
    assert "could not be reached" in row.locator(".test-result").inner_text()

    add(
        page,
        "iam-role-to-role",
        "Heap role",
        role_arn="arn:aws:iam::123456789012:role/heap-reader",
        external_id="heap-external-1",
        base_credential="Base",
        endpoint_url=s3_endpoint,
    )
    assert "Connection successful" in run_test(page, bucket)

    page.goto("/credentials/add/")
    page.select_option("#id_kind", "iam-role-to-role")
    page.fill("#id_name", "Bad role")
    page.fill("#id_role_arn", "heap-reader")
    page.fill("#id_external_id", "x")
    page.click("#credential-form button[type=submit]")
    assert page.locator("#id_role_arn").evaluate("e => e.classList.contains('is-invalid')")
    assert "should look like arn:aws:iam::" in page.content()
    assert "2–1224 characters" in page.content()


def test_pgp_credential_good_and_bad(page, pgp_key):
    add(
        page,
        "pgp",
        "Decrypt",
        private_key=pgp_key["private_key"],
        passphrase=pgp_key["passphrase"],
    )
    assert not page.locator("#id_bucket").count()  # nothing to list for a PGP key
    assert "Connection successful" in run_test(page)
    assert pgp_key["passphrase"] not in page.content()
    page.fill("#id_passphrase", "wrong passphrase")
    page.click("#credential-form button[type=submit]")
    page.goto("/credentials/")
    row = page.locator("tr[data-credential='Decrypt']")
    row.get_by_role("button", name="Test").click()
    assert "passphrase does not unlock" in row.locator(".test-result").inner_text()
