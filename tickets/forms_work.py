"""Forms of the technician workspace: the queue list's filters, one form per action, and
`WORK_ACTIONS`, the one table of technician actions that drives the action view, the
ticket page's blocks, the URLs and the bulk actions on lists.

Each action form has its own prefix, so several can sit on one page with distinct field
ids, and a form with errors is shown again in place with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from devices.forms import WarrantyRejectForm, WarrantyVerifyForm
from devices.models import Provider
from devices.warranty import WarrantySource, WarrantyStatus
from portal.models import User
from portal.validators import (
    refuse_control_characters,
    refuse_control_characters_in_text,
    validate_serial,
)
from tickets import workflow
from tickets.forms import ColumnChoices
from tickets.models import Category, Priority, Queue, Ticket
from tickets.pci import refuse_card_number
from tickets.queues import transfer_targets

if TYPE_CHECKING:
    from django.http import QueryDict

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

    def __init__(
        self,
        *args: object,
        ticket: Ticket | None = None,
        provider: Provider | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        if ticket is not None:
            # Sensible targets only (tickets.queues.transfer_targets); workflow checks again.
            targets = transfer_targets(ticket)
        else:
            # Several tickets at once (bulk): only the queues every one of them may go to,
            # whatever its terminal: the provider's own and the platform triage. The
            # workflow still checks each ticket (e.g. one already in that queue).
            targets = Queue.objects.filter(
                Q(provider=provider) | Q(provider__isnull=True, kind=Queue.Kind.TRIAGE),
                active=True,
            )
        self.fields["queue"].queryset = targets.select_related("provider").order_by(
            "provider__name", "name"
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


class DuplicateForm(forms.Form):
    """The ticket this one duplicates, by its reference: one in the technician's own
    queues. Another provider's ticket reads as one that does not exist."""

    original = forms.CharField(
        label=_("Reference of the ticket that stays open"),
        max_length=16,
        validators=[refuse_card_number, refuse_control_characters],
    )

    def __init__(self, *args: object, provider: Provider, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider

    def clean_original(self) -> Ticket:
        reference = self.cleaned_data["original"].strip().upper()
        original = (
            Ticket.objects.select_related("queue")
            .filter(reference=reference, queue__provider=self.provider)
            .first()
        )
        if original is None:
            raise forms.ValidationError(_("No ticket has this reference."), code="unknown")
        return original


# The one table of technician actions ------------------------------------------------------

Run = Callable[[Ticket, User, dict[str, Any]], object]


def _ticket(ticket: Ticket | None, provider: Provider) -> dict[str, Any]:
    return {"ticket": ticket, "provider": provider}


def _provider(ticket: Ticket | None, provider: Provider) -> dict[str, Any]:
    return {"provider": provider}


def _nothing(ticket: Ticket | None, provider: Provider) -> dict[str, Any]:
    return {}


def _warranty_initial(ticket: Ticket) -> dict[str, Any]:
    device = ticket.device
    return {
        "warranty_end": device.warranty_end or device.default_warranty_end(),
        "source": WarrantySource.PROOF,
    }


def _loaner_returned(ticket: Ticket) -> str:
    return gettext("Loaner %(serial)s returned") % {"serial": ticket.loaner_serial}


@dataclass(frozen=True)
class WorkAction:
    """A technician action as the workspace offers it. The workflow decides whether it is
    allowed (`workflow.ACTIONS[name]`) and does it (`run`); this says how it is asked for
    and shown. Its URL is `tickets:work_<name>` at `work/tickets/<ref>/<path>/`."""

    name: str  # the key in workflow.ACTIONS
    path: str
    summary: Promise  # the block's title on the ticket page and in the bulk form
    button: Promise | Callable[[Ticket], str]
    done: Promise  # said once it is done
    run: Run
    form: type[forms.Form] | None = None  # None: a button alone
    prefix: str = ""
    # The form's keyword arguments, from the ticket (None for several at once) and the
    # technician's provider.
    form_kwargs: Callable[[Ticket | None, Provider], dict[str, Any]] = _nothing
    initial: Callable[[Ticket], dict[str, Any]] | None = None
    help: Promise | str = ""
    notice: str = ""  # a template shown before the block, unfolded
    include: str = ""  # a template shown inside the block, above the form
    button_style: str = "btn-primary"
    style: str = ""  # the block's own look: "timeline-internal", a warning border
    open: bool = False  # unfolded even before it is used
    counted: bool = False  # a message a person writes: counted against RATE_LIMIT_REPLIES
    may_leave: bool = False  # may take the ticket out of the technician's queues
    bulk: bool = False  # offered on lists, for the selected tickets

    @property
    def label(self) -> Promise:
        return workflow.ACTIONS[self.name].label

    def build(
        self,
        data: QueryDict | None,
        *,
        ticket: Ticket | None,
        provider: Provider,
        bulk: bool = False,
    ) -> forms.Form | None:
        """The action's form (None for a button alone), bound to `data` when given."""
        if self.form is None:
            return None
        kwargs = self.form_kwargs(ticket, provider)
        if bulk:
            # All the bulk forms are one <form>: the browser must not insist on the
            # fields of an action that was not chosen. The server checks the chosen one.
            kwargs["use_required_attribute"] = False
        elif data is None and ticket is not None and self.initial is not None:
            kwargs["initial"] = self.initial(ticket)
        return self.form(data, prefix=self.prefix, **kwargs)

    def button_text(self, ticket: Ticket | None = None) -> str:
        if callable(self.button):
            return self.button(ticket) if ticket is not None else str(self.label)
        return str(self.button)


# A provider's canned replies, offered above the reply and the question (tickets.canned).
CANNED_INSERT = "tickets/work/_canned_insert.html"
# The actions whose text a canned reply fills in (the form's `body`).
CANNED_TARGETS = ("reply", "ask")

# In the order the ticket page shows them: buttons first, then the folded forms.
WORK_ACTIONS: dict[str, WorkAction] = {
    action.name: action
    for action in [
        WorkAction(
            name="claim",
            path="claim",
            summary=_("Claim"),
            button=_("Claim this ticket"),
            done=_("The ticket is yours."),
            run=lambda t, user, data: workflow.claim(t, user),
            bulk=True,
        ),
        WorkAction(
            name="loaner_return",
            path="loaner/return",
            summary=_("Loaner returned"),
            button=_loaner_returned,
            done=_("Loaner returned."),
            run=lambda t, user, data: workflow.return_loaner(t, user),
            button_style="btn-outline-secondary",
        ),
        WorkAction(
            name="warranty_verify",
            path="warranty/verify",
            summary=_("Verify the warranty"),
            button=_("Verify"),
            done=_("Warranty verified: the merchant is told."),
            run=lambda t, user, data: workflow.verify_warranty(
                t, user, data["warranty_end"], data["source"], data["note"]
            ),
            form=WarrantyVerifyForm,
            prefix="wverify",
            initial=_warranty_initial,
            notice="tickets/work/_action_warranty_claim.html",
            button_style="btn-success",
            style="border-warning",
        ),
        WorkAction(
            name="warranty_reject",
            path="warranty/reject",
            summary=_("Reject the claim"),
            button=_("Reject the claim"),
            done=_("Claim rejected: the repair is billable and the merchant is told why."),
            run=lambda t, user, data: workflow.reject_warranty(t, user, data["reason"]),
            form=WarrantyRejectForm,
            prefix="wreject",
            help=_(
                "The repair becomes billable: the merchant accepts a quote before any work, "
                "and reads your reason."
            ),
            button_style="btn-outline-danger",
            style="border-warning",
        ),
        WorkAction(
            name="reply",
            path="reply",
            summary=_("Reply to the merchant"),
            button=_("Send reply"),
            done=_("Reply sent to the merchant."),
            run=lambda t, user, data: workflow.reply(t, user, data["body"]),
            form=ReplyForm,
            prefix="reply",
            include=CANNED_INSERT,
            counted=True,
        ),
        WorkAction(
            name="note",
            path="note",
            summary=_("Internal note"),
            button=_("Add note"),
            done=_("Internal note added."),
            run=lambda t, user, data: workflow.note(t, user, data["body"]),
            form=NoteForm,
            prefix="note",
            button_style="btn-warning",
            style="timeline-internal",
            counted=True,
            bulk=True,
        ),
        WorkAction(
            name="ask",
            path="ask",
            summary=_("Ask the merchant"),
            button=_("Send question"),
            done=_("Question sent: the ticket waits on the merchant and the SLA clock is paused."),
            run=lambda t, user, data: workflow.ask(t, user, data["body"]),
            form=AskForm,
            prefix="ask",
            include=CANNED_INSERT,
            help=_("The ticket waits on the merchant and the SLA clock stops until they answer."),
            counted=True,
        ),
        WorkAction(
            name="assign",
            path="assign",
            summary=_("Assign to a colleague"),
            button=_("Assign"),
            done=_("Assigned."),
            run=lambda t, user, data: workflow.assign(t, user, data["assignee"]),
            form=AssignForm,
            prefix="assign",
            form_kwargs=_provider,
            bulk=True,
        ),
        WorkAction(
            name="quote",
            path="quote",
            summary=_("Send a quote"),
            button=_("Send quote"),
            done=_("Quote sent: repair work waits until the merchant accepts it."),
            run=lambda t, user, data: workflow.send_quote(t, user, data["amount"], data["covers"]),
            form=QuoteForm,
            prefix="quote",
            help=_(
                "Out of warranty: the merchant accepts or declines on their ticket page. "
                "Repair waits until they accept."
            ),
        ),
        WorkAction(
            name="loaner_issue",
            path="loaner/issue",
            summary=_("Lend a loaner terminal"),
            button=_("Loaner issued"),
            done=_("Loaner issued."),
            run=lambda t, user, data: workflow.issue_loaner(t, user, data["serial"]),
            form=LoanerIssueForm,
            prefix="loaner",
        ),
        WorkAction(
            name="transfer",
            path="transfer",
            summary=_("Transfer to another queue"),
            button=_("Transfer"),
            done=_("Transferred."),
            run=lambda t, user, data: workflow.transfer(t, user, data["queue"], data["reason"]),
            form=TransferForm,
            prefix="transfer",
            form_kwargs=_ticket,
            help=_("A transfer to another provider takes the ticket out of your queues."),
            button_style="btn-outline-primary",
            may_leave=True,
            bulk=True,
        ),
        WorkAction(
            name="resolve",
            path="resolve",
            summary=_("Resolve"),
            button=_("Resolve"),
            done=_("Resolved: the merchant is asked to confirm the fix."),
            run=lambda t, user, data: workflow.resolve(t, user, data["code"], data["note"]),
            form=ResolveForm,
            prefix="resolve",
            include="tickets/work/_action_quote_gate.html",
            button_style="btn-success",
        ),
        WorkAction(
            name="resolve_duplicate",
            path="duplicate",
            summary=_("Close as a duplicate"),
            button=_("Close as a duplicate"),
            done=_("Closed as a duplicate"),
            run=lambda t, user, data: workflow.resolve_duplicate(t, user, data["original"]),
            form=DuplicateForm,
            prefix="duplicate",
            form_kwargs=_provider,
            button_style="btn-outline-secondary",
            bulk=True,
        ),
    ]
}
BULK_ACTIONS = {name: action for name, action in WORK_ACTIONS.items() if action.bulk}
