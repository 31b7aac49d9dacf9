"""A deleted terminal takes its proof of purchase with it, once the delete commits.

A receiver rather than `Device.delete()`: a queryset's delete (the admin's "delete
selected") never calls the model's method, but sends the signal for each row.
"""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from devices.models import Device
from portal.storage import delete_on_commit


@receiver(post_delete, sender=Device, dispatch_uid="device_proof_removed")
def device_proof_removed(sender: type[Device], instance: Device, **kwargs: object) -> None:
    delete_on_commit(instance.proof_of_purchase)
