"""Credentials pages: list, add, edit (with a connection test), test (htmx), delete."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from .forms import ConnectionTestForm, CredentialForm
from .models import Credential
from .selectors import credential_list
from .services import (
    credential_create,
    credential_delete,
    credential_secrets,
    credential_test,
    credential_update,
    credential_users,
)


def list_view(request):
    credentials = list(credential_list())
    for credential in credentials:
        credential.courier_count = credential.s3_users + credential.pgp_users
    return render(request, "credentials/list.html", {"credentials": credentials})


def _safe_next(request) -> str | None:
    """A same-site path to return to (the courier wizard sends one), or None."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _with_credential(target: str, credential: Credential) -> str:
    """The `next` URL with ?credential=<id>, so the page that sent the user can select it."""
    parts = urlsplit(target)
    query = "&".join(q for q in (parts.query, urlencode({"credential": credential.pk})) if q)
    return urlunsplit(("", "", parts.path, query, parts.fragment))


def _save(form: CredentialForm, save) -> Credential | None:
    """Run a service; put its complaints next to the fields they concern."""
    try:
        return save()
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
    return None


@require_http_methods(["GET", "POST"])
def add_view(request):
    next_url = _safe_next(request)
    form = CredentialForm(request.POST or None, initial={"kind": request.GET.get("kind", "")})
    status = 200
    if request.method == "POST":
        credential = None
        if form.is_valid():
            credential = _save(
                form,
                lambda: credential_create(
                    name=form.cleaned_data["name"],
                    kind=form.cleaned_data["kind"],
                    **form.service_fields(),
                ),
            )
        if credential is not None:
            messages.success(request, f"Credential “{credential.name}” saved.")
            if next_url:
                return redirect(_with_credential(next_url, credential))
            return redirect("credentials:edit", pk=credential.pk)
        status = 400
    context = {"form": form, "next": next_url, "credential": None}
    return render(request, "credentials/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def edit_view(request, pk: int):
    credential = get_object_or_404(Credential, pk=pk)
    next_url = _safe_next(request)
    form = CredentialForm(
        request.POST or None, credential=credential, stored=credential_secrets(credential)
    )
    status = 200
    if request.method == "POST":
        saved = None
        if form.is_valid():
            fields = form.service_fields()
            saved = _save(
                form,
                lambda: credential_update(
                    credential=credential, name=form.cleaned_data["name"], **fields
                ),
            )
        if saved is not None:
            messages.success(request, f"Credential “{saved.name}” saved.")
            if next_url:
                return redirect(_with_credential(next_url, saved))
            return redirect("credentials:list")
        status = 400
    context = {
        "form": form,
        "next": next_url,
        "credential": credential,
        "test_form": ConnectionTestForm(),
    }
    return render(request, "credentials/form.html", context, status=status)


@require_POST
def test_view(request, pk: int):
    credential = get_object_or_404(Credential, pk=pk)
    form = ConnectionTestForm(request.POST)
    form.is_valid()  # both fields are optional strings: always valid
    result = credential_test(
        credential=credential,
        bucket=form.cleaned_data.get("bucket") or None,
        prefix=form.cleaned_data.get("prefix") or "",
    )
    if request.headers.get("HX-Request"):
        return render(
            request, "credentials/_test_result.html", {"result": result, "credential": credential}
        )
    # Without htmx: show the answer on the list page.
    level = messages.SUCCESS if result.ok else messages.ERROR
    text = f"{credential.name}: {result.message} {result.suggestion}".strip()
    messages.add_message(request, level, text)
    return redirect("credentials:list")


@require_http_methods(["GET", "POST"])
def delete_view(request, pk: int):
    credential = get_object_or_404(Credential, pk=pk)
    status = 200
    error = None
    if request.method == "POST":
        try:
            credential_delete(credential=credential)
        except ValidationError as exc:
            error = " ".join(exc.messages)
            status = 409
        else:
            messages.success(request, f"Credential “{credential.name}” deleted.")
            return redirect("credentials:list")
    context = {"credential": credential, "users": credential_users(credential), "error": error}
    return render(request, "credentials/confirm_delete.html", context, status=status)
