"""A shop's withdrawal reason is stored as a code and worded when read (tickets.event_text).

Until now the chosen reason's label was stored as the event's text, in the language
of whoever withdrew ("A restart fixed it: ..."), and a reader of the other language
met it untranslated. Each such event gets its code back, and keeps only what the shop
typed; the ticket's `cancel_reason` likewise.
"""

from django.db import migrations

# The labels as they were stored: English, and the Chinese of the catalogue then.
LABELS = {
    "A restart fixed it": "restart",
    "重启后已恢复": "restart",
    "Fixed by the first-line checks": "self_help",
    "自助检查后已解决": "self_help",
    "Filed by mistake": "mistake",
    "误报": "mistake",
}


def split(body: str) -> tuple[str, str]:
    """(code, what was typed) of a stored reason."""
    for label, code in LABELS.items():
        if body == label:
            return code, ""
        for colon in (": ", "："):
            if body.startswith(label + colon):
                return code, body[len(label) + len(colon) :].strip()
    return "other", body


def reason_codes(apps, schema_editor):  # noqa: ANN001
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    Ticket = apps.get_model("tickets", "Ticket")
    events = TicketEvent.objects.filter(kind="cancelled").exclude(data__has_key="reason")
    for event in events.select_related("ticket").iterator():
        code, typed = split(event.body)
        old = event.body
        event.body = typed
        event.data = {**(event.data or {}), "reason": code}
        event.save(update_fields=["body", "data"])
        if event.ticket.cancel_reason == old[:200]:
            Ticket.objects.filter(pk=event.ticket_id).update(cancel_reason=typed[:200])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0011_advice_while_waiting"),
    ]

    operations = [
        migrations.RunPython(reason_codes, migrations.RunPython.noop),
    ]
