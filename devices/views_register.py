"""The provider's warranty register upload, under /work/terminals/register/.

Only technicians get here (`provider_of`: merchants, users with no role and staff get
404), and what they upload only ever reaches their own provider's register and
terminals. Upload → preview of every row (nothing written) → confirm, which applies the
whole file in one transaction and shows what it verified and which claims differ.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from devices import pending, register
from devices.forms import ImportUploadForm
from portal.access import provider_of

SESSION_KEY = "devices.register"


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def register_upload(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST with a file: every row checked and shown, nothing written;
    a valid file waits in the session for its confirmation."""
    provider = provider_of(request)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["file"]
        preview = register.check_register_csv(text, provider)
        digest = ""
        if preview.is_valid:
            digest = pending.hold(request, SESSION_KEY, owner=provider.pk, text=text)
        else:
            pending.drop(request, SESSION_KEY)
        return render(
            request,
            "devices/register_preview.html",
            {
                "provider": provider,
                "preview": preview,
                "digest": digest,
                "filename": request.FILES["file"].name,
            },
        )
    return render(
        request,
        "devices/register.html",
        {"provider": provider, "form": form, "header": register.LAYOUT.header()},
    )


@require_POST
@login_required
def register_confirm(request: HttpRequest) -> HttpResponse:
    """Apply the file the preview showed (its digest), all of it or none of it."""
    provider = provider_of(request)
    text = pending.held(
        request, SESSION_KEY, owner=provider.pk, digest=request.POST.get("digest", "")
    )
    if text is None:
        messages.error(request, _("That file is no longer waiting to be applied. Upload it again."))
        return redirect("terminals:register")
    result = register.apply_register(text, provider, request.user)
    pending.drop(request, SESSION_KEY)
    if not result.applied:
        # The database changed since the preview (e.g. a brand was renamed meanwhile).
        return render(
            request,
            "devices/register_preview.html",
            {"provider": provider, "preview": result.preview, "digest": "", "filename": ""},
        )
    return render(request, "devices/register_result.html", {"provider": provider, "result": result})
