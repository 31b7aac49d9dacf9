from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "outages"
    verbose_name = _("Outages")

    def ready(self) -> None:
        from outages import signals  # noqa: F401
