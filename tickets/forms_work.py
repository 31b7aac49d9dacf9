"""Forms of the technician workspace: the queue list's filters and one form per action.

Each action form has its own prefix, so several can sit on one page with distinct field
ids, and a form with errors is shown again in place with what was typed.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from devices.models import Provider
from devices.warranty import WarrantyStatus
from portal.models import User
from portal.validators import (
    refuse_control_characters,
    refuse_control_characters_in_text,
    validate_serial,
)
from tickets.forms import ColumnChoices
from tickets.models import Category, Priority, Queue, Ticket
from tickets.pci import refuse_card_number
from tickets.queues import transfer_targets

TEXT_MAX = 5000


def _text(label: str, rows: int = 3) -> forms.CharField:
    # Replies and questions are e-mailed to the merchant: never a card number in them.
    return forms.CharField(
        label=label,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": rows}),
        validators=[refuse_card_number, refuse_control_characters_in_text],
    )


# The queue list ---------------------------------------------------------------------------

STATUS_OPEN = "open"
STATUS_ALL = "all"
ASSIGNED_ANYONE, ASSIGNED_ME, ASSIGNED_NOBODY = "", "me", "unassigned"

# Public sort names → ORM ordering. Anything else never reaches `order_by`.
SORT_LABELS = {
    "due": _("Most urgent first"),
    "priority": _("Priority"),
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "updated": _("Recently updated"),
}


class QueueFilterForm(forms.Form):
    """Read from the query string. A bad value is dropped (the form's choices are the
    allow-list), so a crafted URL shows the default list, never an error page."""

    q = forms.CharField(
        label=_("Reference, serial or merchant"),
        max_length=64,
        required=False,
        validators=[refuse_card_number, refuse_control_characters],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (STATUS_OPEN, _("Open")),
            *[(s, label) for s, label in Ticket.Status.choices if s != Ticket.Status.NEW],
            (STATUS_ALL, _("All")),
        ],
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *Priority.choices],
    )
    category = forms.ChoiceField(
        label=_("Kind of fault"), required=False, choices=[("", _("Any")), *Category.choices]
    )
    warranty = forms.ChoiceField(
        label=_("Warranty at filing"),
        required=False,
        choices=[("", _("Any")), *WarrantyStatus.choices],
    )
    assigned = forms.ChoiceField(
        label=_("Assigned"),
        required=False,
        choices=[
            (ASSIGNED_ANYONE, _("Anyone")),
            (ASSIGNED_ME, _("Me")),
            (ASSIGNED_NOBODY, _("Unassigned")),
        ],
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=list(SORT_LABELS.items()))
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def values(self) -> dict[str, object]:
        """The valid values only; an invalid field is as if it were not given."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}


# Actions -----------------------------------------------------------------------------------


# The action forms' selects are on every ticket page, shown or not: their options come
# from the few columns a label needs in one plain query (ColumnChoices), not one model
# instance per option read through a server-side cursor after a COUNT (Django's default).


def _person_label(first_name: str, last_name: str, username: str) -> str:
    # As User.get_full_name() or the username.
    return f"{first_name} {last_name}".strip() or username


class PersonField(forms.ModelChoiceField):
    iterator = ColumnChoices
    label_columns = ("first_name", "last_name", "username")
    label_from_columns = staticmethod(_person_label)

    def label_from_instance(self, obj: User) -> str:
        return _person_label(obj.first_name, obj.last_name, obj.username)


class AssignForm(forms.Form):
    assignee = PersonField(label=_("Colleague"), queryset=User.objects.none())

    def __init__(self, *args: object, provider: Provider, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Only the provider's own active people: a crafted id of anyone else is invalid.
        self.fields["assignee"].queryset = User.objects.filter(
            membership__provider=provider, is_active=True
        ).order_by("first_name", "last_name", "username")


class ReplyForm(forms.Form):
    body = _text(_("Reply to the merchant"), rows=4)


class NoteForm(forms.Form):
    body = _text(_("Internal note (never shown to the merchant)"))


class AskForm(forms.Form):
    body = _text(_("Question for the merchant"))


class QuoteForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    covers = _text(_("What it covers"))


def _queue_label(owner: str | None, name: str) -> str:
    # Outside the f-string: makemessages does not look inside one, and "Platform" was
    # left out of the catalogue.
    owner = _("Platform") if owner is None else owner
    return f"{owner} · {name}"


class QueueField(forms.ModelChoiceField):
    iterator = ColumnChoices
    label_columns = ("provider__name", "name")
    label_from_columns = staticmethod(_queue_label)

    def label_from_instance(self, obj: Queue) -> str:
        return _queue_label(obj.provider.name if obj.provider else None, obj.name)


class TransferForm(forms.Form):
    queue = QueueField(label=_("To queue"), queryset=Queue.objects.none())
    reason = _text(_("Why"), rows=2)

    def __init__(self, *args: object, ticket: Ticket, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Sensible targets only (tickets.queues.transfer_targets); workflow checks again.
        self.fields["queue"].queryset = (
            transfer_targets(ticket).select_related("provider").order_by("provider__name", "name")
        )


class LoanerIssueForm(forms.Form):
    serial = forms.CharField(
        label=_("Loaner's serial number"),
        max_length=64,
        validators=[refuse_card_number, refuse_control_characters, validate_serial],
    )


class ResolveForm(forms.Form):
    code = forms.ChoiceField(
        label=_("Resolution"),
        choices=[
            ("", "---------"),
            *(c for c in Ticket.Resolution.choices if c[0] != Ticket.Resolution.INCIDENT_OVER),
        ],
    )
    note = _text(_("What was done"))
