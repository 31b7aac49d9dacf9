"""The default routing table of DESIGN.md, the platform triage queue and the
first-line checks: data, editable in the admin afterwards."""

from django.db import migrations

RULES = [
    # (order, name, category, warranty, party, queue kind, billable)
    (
        10,
        "Transaction problems go to the acquirer",
        "transaction",
        "",
        "acquirer",
        "transaction_support",
        False,
    ),
    (20, "Network faults: remote support", "network", "", "provider", "remote_support", False),
    (30, "Software faults: remote support", "software", "", "provider", "remote_support", False),
    (
        40,
        "Hardware in warranty: free repair",
        "hardware",
        "in",
        "provider",
        "warranty_repair",
        False,
    ),
    (
        50,
        "Hardware out of warranty: paid repair",
        "hardware",
        "out",
        "provider",
        "paid_repair",
        True,
    ),
    (60, "Warranty unknown: provider triage", "", "unknown", "provider", "triage", None),
]

CHECKS = [
    # (category, code, text, how-to, order)
    (
        "hardware",
        "power-cable",
        "Power and cable are plugged in firmly",
        "Unplug the power cable and the base cable, wait ten seconds, plug them back in.",
        10,
    ),
    (
        "hardware",
        "restart",
        "Restarted the terminal",
        "Hold the power key for ten seconds until the screen goes dark, then switch it on again.",
        20,
    ),
    (
        "hardware",
        "paper",
        "Paper roll loaded the right way round",
        "Open the printer cover; the shiny side of the paper faces the print head.",
        30,
    ),
    (
        "hardware",
        "battery",
        "Charged the battery for 30 minutes",
        "Leave the terminal on its base or charger for half an hour before trying again.",
        40,
    ),
    (
        "software",
        "restart",
        "Restarted the terminal",
        "Hold the power key for ten seconds until the screen goes dark, then switch it on again.",
        10,
    ),
    (
        "software",
        "update",
        "Installed pending software updates",
        "Open the terminal's settings menu and run the update, with the terminal on power.",
        20,
    ),
    (
        "network",
        "switch-network",
        "Switched between Wi-Fi, cable and mobile data",
        "In the network settings, choose another connection and try a test payment.",
        10,
    ),
    (
        "network",
        "router",
        "Restarted the router",
        "Switch the shop's router off, wait thirty seconds, switch it on and wait two minutes.",
        20,
    ),
    (
        "network",
        "restart",
        "Restarted the terminal",
        "Hold the power key for ten seconds until the screen goes dark, then switch it on again.",
        30,
    ),
    (
        "transaction",
        "receipt",
        "Checked the terminal's last-transaction record",
        "Print the last-transaction or settlement report and look for the payment.",
        10,
    ),
    (
        "transaction",
        "bank-app",
        "Checked the payment in the bank's app or statement",
        "Money may show as pending for a day before it is released or settled.",
        20,
    ),
    (
        "other",
        "restart",
        "Restarted the terminal",
        "Hold the power key for ten seconds until the screen goes dark, then switch it on again.",
        10,
    ),
]


def forwards(apps, schema_editor):
    Queue = apps.get_model("tickets", "Queue")
    RoutingRule = apps.get_model("tickets", "RoutingRule")
    SelfHelpCheck = apps.get_model("tickets", "SelfHelpCheck")
    Queue.objects.get_or_create(provider=None, kind="triage", defaults={"name": "Platform triage"})
    for order, name, category, warranty, party, kind, billable in RULES:
        RoutingRule.objects.get_or_create(
            order=order,
            name=name,
            defaults={
                "category": category,
                "warranty": warranty,
                "target_party": party,
                "target_kind": kind,
                "billable": billable,
            },
        )
    for category, code, text, how_to, order in CHECKS:
        SelfHelpCheck.objects.get_or_create(
            category=category,
            code=code,
            defaults={"text": text, "help_text": how_to, "order": order},
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
