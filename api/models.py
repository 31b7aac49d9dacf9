"""API keys: a secret shown once, stored as its SHA-256, found by a short prefix.

A key acts as the person who created it (a merchant user or a provider manager), with
that person's scope as it stands at each request: a member who leaves their shop or
provider, or is deactivated, takes their keys' reach with them. `scope` limits it further:
a read key never writes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters
from tickets.pci import refuse_card_number

# What a key looks like: "pd_" + prefix + "_" + secret. The prefix finds the row (indexed,
# unique), the secret is compared as its hash in constant time.
TOKEN_START = "pd_"
PREFIX_BYTES = 6  # 8 URL-safe characters
SECRET_BYTES = 32  # 256 bits: a hash without a salt or a slow KDF is enough at this entropy


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("owner"),
    )
    name = models.CharField(
        _("name"), max_length=80, validators=[refuse_card_number, refuse_control_characters]
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read", "write"]), name="api_key_scope_known"
            ),
        ]
        indexes = [
            # The key page: a person's keys, newest first.
            models.Index(fields=["user", "-created_at"], name="api_key_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_START}{self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.hashed_secret, _hash(secret))

    @classmethod
    def issue(cls, *, user: object, name: str, scope: str) -> tuple[ApiKey, str]:
        """A new key and its token, the only time the token exists in clear."""
        prefix = secrets.token_urlsafe(PREFIX_BYTES)[:8].replace("_", "x").replace("-", "y")
        secret = secrets.token_urlsafe(SECRET_BYTES)
        key = cls.objects.create(
            user=user, name=name.strip(), scope=scope, prefix=prefix, hashed_secret=_hash(secret)
        )
        return key, f"{TOKEN_START}{prefix}_{secret}"

    @classmethod
    def find(cls, token: str) -> ApiKey | None:
        """The active key the token is, or None (unknown, forged or revoked)."""
        if not token.startswith(TOKEN_START):
            return None
        prefix, sep, secret = token[len(TOKEN_START) :].partition("_")
        if not sep or not prefix or not secret:
            return None
        # The owner and their membership in the same query: scope needs them at once.
        found = list(
            cls.objects.select_related("user__membership__merchant", "user__membership__provider")
            .filter(prefix=prefix)
            .order_by()[:1]
        )
        key = found[0] if found else None
        if key is None or not key.matches(secret) or not key.is_active:
            return None
        return key

    def revoke(self) -> bool:
        """Revoke once; False when it already was (two clicks, two tabs)."""
        now = timezone.now()
        done = ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            self.revoked_at = now
        return bool(done)

    def touch(self, now: datetime | None = None) -> None:
        """Record use, at most once a minute: not a write per request (bench W8)."""
        now = now or timezone.now()
        stale = now - timedelta(minutes=1)
        if self.last_used_at is None or self.last_used_at < stale:
            ApiKey.objects.filter(pk=self.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
            ).update(last_used_at=now)
            self.last_used_at = now
