"""Getting back in: password reset by e-mail, and the set-password link an admin sends.

Django's own views, forms and tokens, with four changes: the links are built from
SITE_URL (never from the Host header a request brings); reset e-mails per address are
limited (RATE_LIMIT_PASSWORD_RESET; the page answers the same either way, as it does
for an address nobody has); e-mails are in the user's own language; and setting a new
password from the link also lets this browser past the log-in slowdown and the lock-out
of its own address.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpResponse
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal import limits, login_slowdown
from portal.clientip import client_ip

if TYPE_CHECKING:
    from collections.abc import Iterable

    from portal.models import User

EMAILS = "registration/email"
RESET = {
    "subject_template_name": f"{EMAILS}/password_reset-subject.txt",
    "email_template_name": f"{EMAILS}/password_reset-body.txt",
    "html_email_template_name": f"{EMAILS}/password_reset-body.html",
}
SET_PASSWORD = {
    "subject_template_name": f"{EMAILS}/set_password-subject.txt",
    "email_template_name": f"{EMAILS}/set_password-body.txt",
    "html_email_template_name": f"{EMAILS}/set_password-body.html",
}


def site_url() -> str:
    return settings.SITE_URL.rstrip("/")


def _link_context(user: User, uid: str, token: str) -> dict[str, object]:
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return {
        "site_url": site_url(),
        "link": site_url() + path,
        "recipient_name": user.get_full_name() or user.get_username(),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }


class PasswordResetForm(auth_forms.PasswordResetForm):
    def get_users(self, email: str) -> Iterable[User]:
        key = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
        if limits.use("password-reset", key, settings.RATE_LIMIT_PASSWORD_RESET):
            return ()  # enough e-mails to that address for now; the page says the same
        return super().get_users(email)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        context = {**context, **_link_context(user, context["uid"], context["token"])}
        # In the user's own language; one who never chose reads the page's (theirs, we hope).
        with translation.override(user.language or translation.get_language()):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    subject_template_name = RESET["subject_template_name"]
    email_template_name = RESET["email_template_name"]
    html_email_template_name = RESET["html_email_template_name"]

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        # Never the request's host: a forged Host header would send the token elsewhere.
        self.domain_override = urlsplit(settings.SITE_URL).netloc
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form: auth_forms.SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        # The owner of the mailbox is at this browser: let it in at once.
        username = form.user.get_username()
        login_slowdown.forget(username)
        login_slowdown.trust_browser(self.request, username)
        axes_reset(ip=client_ip(self.request), username=username)
        return response


def send_set_password_link(user: User) -> bool:
    """E-mail `user` a link to choose their password (an account an admin created
    without typing one). Django's reset token: used once, valid PASSWORD_RESET_TIMEOUT.
    False when there is no address to send it to."""
    if not user.is_active or not user.email:
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {"email": user.email, "user": user, **_link_context(user, uid, token)}
    # Not the admin's language: the new user's own, else the site's.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        auth_forms.PasswordResetForm().send_mail(
            SET_PASSWORD["subject_template_name"],
            SET_PASSWORD["email_template_name"],
            context,
            None,
            user.email,
            html_email_template_name=SET_PASSWORD["html_email_template_name"],
        )
    return True
