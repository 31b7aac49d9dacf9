from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from portal.models import User
from tickets.views.home import merchant_home


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its day starts."""
    role = request.user.role
    if role == User.Role.ADMIN:
        return redirect("admin:index")
    if role == User.Role.TECHNICIAN:
        return redirect("tickets:work")
    if role == User.Role.MERCHANT:
        return merchant_home(request)
    return render(request, "portal/no_role.html")
