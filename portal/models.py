from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from portal.validators import refuse_control_characters
from tickets.pci import refuse_card_number

if TYPE_CHECKING:
    from devices.models import Merchant, Provider


class User(AbstractUser):
    """A person who logs in. What they may see follows from their membership."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        MERCHANT = "merchant", _("Merchant user")
        TECHNICIAN = "technician", _("Technician")
        NONE = "none", _("No role")

    # AbstractUser's names, as there, plus the check every free-text field has.
    first_name = models.CharField(
        _("first name"),
        max_length=150,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    last_name = models.CharField(
        _("last name"),
        max_length=150,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )
    phone = models.CharField(
        _("phone"),
        max_length=32,
        blank=True,
        validators=[refuse_card_number, refuse_control_characters],
    )

    # Set from the browser at the first log-in, changed from the menu's switch; pages and
    # e-mails for this person are written in it (portal.language).
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )

    # Which e-mails this person wants (tickets.notifications, issue 18). Defaults a busy
    # desk would choose: a technician hears at once only of shops that cannot take
    # payments; a shop only of what needs it (a question, a quote) or ends it.
    class Arrivals(models.TextChoices):
        EVERY = "every", _("Every ticket that arrives in my queues")
        P1 = "p1", _("Only P1 tickets (the shop cannot take payments)")
        MINE = "mine", _("Only tickets assigned to me")
        DIGEST = "digest", _("A digest every few minutes")

    class ShopUpdates(models.TextChoices):
        EVERY = "every", _("Every update")
        KEY = "key", _("Only questions, quotes and the resolution")

    notify_arrivals = models.CharField(
        _("e-mail me about tickets arriving"),
        max_length=10,
        choices=Arrivals.choices,
        default=Arrivals.P1,
    )
    digest_minutes = models.PositiveSmallIntegerField(
        _("digest every (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(1440)],
    )
    # The end of the last digest's window: the next one tells what arrived after it.
    digest_sent_until = models.DateTimeField(null=True, blank=True, editable=False)
    notify_shop_updates = models.CharField(
        _("e-mail me about my tickets"),
        max_length=10,
        choices=ShopUpdates.choices,
        default=ShopUpdates.KEY,
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @cached_property
    def _membership(self):  # noqa: ANN202 - devices.Membership, imported lazily
        from devices.models import Membership

        if User.membership.is_cached(self):  # loaded with the user (portal.auth)
            try:
                return self.membership
            except Membership.DoesNotExist:
                return None
        return Membership.objects.select_related("merchant", "provider").filter(user=self).first()

    @property
    def merchant(self) -> Merchant | None:
        membership = self._membership
        return membership.merchant if membership else None

    @property
    def provider(self) -> Provider | None:
        membership = self._membership
        return membership.provider if membership else None

    @property
    def on_duty(self) -> bool:
        """A technician taking tickets from queues that assign automatically."""
        membership = self._membership
        return bool(membership and membership.provider_id and membership.on_duty)

    @property
    def role(self) -> str:
        if self.is_staff:
            return self.Role.ADMIN
        if self.merchant is not None:
            return self.Role.MERCHANT
        if self.provider is not None:
            return self.Role.TECHNICIAN
        return self.Role.NONE

    @property
    def is_merchant(self) -> bool:
        return self.merchant is not None

    @property
    def is_technician(self) -> bool:
        return self.provider is not None
