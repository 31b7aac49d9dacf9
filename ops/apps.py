from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        # Log context into Celery tasks, metrics from tickets' signals (ops.signals).
        from ops import signals

        signals.connect_models()
