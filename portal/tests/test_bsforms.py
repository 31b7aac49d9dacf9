"""`|bs_form` and `|bs_field` give the markup crispy-forms' bootstrap5 pack gives, and
escape everything that comes from data.

Crispy's output is the reference: both are parsed and compared tag by tag (attribute
order, class order and whitespace aside, which HTML does not care about).
"""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms
from django.template import Context, Template
from django.utils.safestring import mark_safe

from tickets.forms import FastSelect, MultipleFileInput
from tickets.forms_work import (
    AskForm,
    LoanerIssueForm,
    NoteForm,
    QueueFilterForm,
    QuoteForm,
    ReplyForm,
    ResolveForm,
)

HOSTILE = "<script>alert(1)</script>"


class EveryWidget(forms.Form):
    text = forms.CharField(label="Name", max_length=5, help_text="As on the label.")
    amount = forms.DecimalField(label="Amount", required=False, max_digits=6, decimal_places=2)
    email = forms.EmailField(label="E-mail")
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    when = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    phone = forms.CharField(
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}), required=False
    )
    secret = forms.CharField(widget=forms.PasswordInput)
    kind = forms.ChoiceField(
        choices=[("hw", "Hardware"), ("sw", "Software")], widget=forms.RadioSelect, help_text="Pick"
    )
    grouped_kind = forms.ChoiceField(
        choices=[("Group", [("a", "A"), ("b", "B")]), ("c", "C")],
        widget=forms.RadioSelect,
        required=False,
    )
    tried = forms.MultipleChoiceField(
        choices=[("power", "Power"), ("cable", "Cable")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    agree = forms.BooleanField(label="Overdue only", required=False, help_text="Tick it")
    must_agree = forms.BooleanField(label="I agree")
    pick = forms.ChoiceField(
        choices=[("", "---"), ("Group", [("1", "One"), ("2", "Two")]), ("3", "Three")]
    )
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two")], required=False)
    fast = forms.ChoiceField(choices=[("", "---"), ("1", "One")], widget=FastSelect)
    files = forms.FileField(
        widget=MultipleFileInput(attrs={"accept": ".pdf"}), required=False, help_text="Up to 5"
    )
    one_file = forms.FileField()
    token = forms.CharField(widget=forms.HiddenInput, initial="t-1")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "class": "mine"}), initial="x < y & z"
    )
    locked = forms.CharField(required=False, disabled=True, initial="fixed")

    def clean(self) -> dict[str, Any]:
        raise forms.ValidationError("Something is off with the whole form.")


BAD_INPUT = {
    "text": "too long <b>",
    "amount": "12.345",
    "kind": "sw",
    "grouped_kind": "nope",
    "tried": ["cable"],
    "agree": "on",
    "pick": "2",
    "many": ["1", "2"],
    "body": "a < b",
}


class Canonical(HTMLParser):
    """Tags with their attributes (sorted, classes sorted) and text with whitespace
    collapsed: what a browser would build, not how it was spelled."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        canon = {k: " ".join(sorted(v.split())) if k == "class" and v else v for k, v in attrs}
        self.items.append(("start", tag, tuple(sorted(canon.items()))))

    def handle_endtag(self, tag: str) -> None:
        self.items.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if text := " ".join(data.split()):
            self.items.append(("text", text))


def canonical(html: str) -> list[tuple]:
    parser = Canonical()
    parser.feed(html)
    parser.close()
    return parser.items


def crispy(form: forms.BaseForm) -> str:
    return Template("{% load crispy_forms_tags %}{{ form|crispy }}").render(Context({"form": form}))


def bs(form: forms.BaseForm) -> str:
    return Template("{% load bsforms %}{{ form|bs_form }}").render(Context({"form": form}))


def crispy_field(field: forms.BoundField) -> str:
    return Template("{% load crispy_forms_tags %}{{ f|as_crispy_field }}").render(
        Context({"f": field})
    )


def bs_field(field: forms.BoundField) -> str:
    return Template("{% load bsforms %}{{ f|bs_field }}").render(Context({"f": field}))


def _tags(html: str, tag: str) -> list[dict[str, str | None]]:
    return [dict(item[2]) for item in canonical(html) if item[:2] == ("start", tag)]


# The same markup as crispy -----------------------------------------------------------


@pytest.mark.parametrize("data", [None, {}, BAD_INPUT], ids=["unbound", "empty", "bad"])
def test_a_whole_form_is_crispys_markup(data: dict | None) -> None:
    # Two instances: crispy writes its classes into the widgets it renders.
    assert canonical(bs(EveryWidget(data))) == canonical(crispy(EveryWidget(data)))


@pytest.mark.parametrize("name", list(EveryWidget.base_fields))
@pytest.mark.parametrize("data", [None, BAD_INPUT], ids=["unbound", "bad"])
def test_each_field_is_crispys_markup(name: str, data: dict | None) -> None:
    assert canonical(bs_field(EveryWidget(data)[name])) == canonical(
        crispy_field(EveryWidget(data)[name])
    )


@pytest.mark.parametrize(
    "form_class", [ReplyForm, NoteForm, AskForm, QuoteForm, LoanerIssueForm, ResolveForm]
)
@pytest.mark.parametrize("data", [None, {}], ids=["unbound", "empty"])
def test_the_workspace_action_forms_are_crispys_markup(form_class: type, data: dict | None) -> None:
    def make() -> forms.Form:
        return form_class(data, prefix="x")

    assert canonical(bs(make())) == canonical(crispy(make()))


def test_the_queue_filters_are_crispys_markup() -> None:
    data = {"status": "bogus", "overdue": "on", "sort": "newest", "q": "PD-1"}
    for name in QueueFilterForm.base_fields:
        assert canonical(bs_field(QueueFilterForm(data)[name])) == canonical(
            crispy_field(QueueFilterForm(data)[name])
        ), name


@pytest.mark.django_db
def test_a_model_choice_select_is_crispys_markup(world) -> None:  # noqa: ANN001
    from tickets.forms_work import AssignForm

    def make(data: dict | None) -> forms.Form:
        return AssignForm(data, prefix="assign", provider=world.provider_x)

    for data in (None, {"assign-assignee": str(world.xena.pk)}, {"assign-assignee": "0"}):
        assert canonical(bs(make(data))) == canonical(crispy(make(data)))
    html = bs(make({"assign-assignee": str(world.xena.pk)}))
    selected = [o for o in _tags(html, "option") if "selected" in o]
    assert selected == [{"value": str(world.xena.pk), "selected": None}]


# The parts that matter, spelled out ---------------------------------------------------


def test_the_label_names_the_input_and_marks_it_required() -> None:
    html = bs_field(EveryWidget()["text"])
    assert html.startswith('<div id="div_id_text" class="mb-3">')
    assert '<label for="id_text" class="form-label requiredField">' in html
    assert 'Name<span class="asteriskField">*</span></label>' in html
    (field,) = _tags(html, "input")
    assert field["id"] == "id_text"
    assert field["class"] == "form-control textinput"
    assert "required" in field
    assert field["aria-describedby"] == "id_text_helptext"
    assert '<div id="id_text_helptext" class="form-text">As on the label.</div>' in html


def test_an_optional_field_has_no_asterisk() -> None:
    html = bs_field(EveryWidget()["amount"])
    assert '<label for="id_amount" class="form-label">Amount</label>' in html
    assert "asteriskField" not in html
    (field,) = _tags(html, "input")
    assert field["type"] == "number"
    assert "required" not in field


def test_an_error_is_next_to_its_field() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["text"])
    (field,) = _tags(html, "input")
    assert "is-invalid" in field["class"].split()
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "id_text_helptext id_text_error"
    assert field["value"] == "too long <b>"
    assert (
        '<div id="id_text_error" class="invalid-feedback"><p id="error_1_id_text"><strong>'
        "Ensure this value has at most 5 characters (it has 12).</strong></p></div>"
    ) in html
    # The error comes right after the input and before the help text.
    assert html.index("invalid-feedback") < html.index("form-text")


def test_a_select_keeps_its_choice_and_its_groups() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["pick"])
    (select,) = _tags(html, "select")
    assert select["class"] == "form-select select"
    assert select["id"] == "id_pick"
    assert '<optgroup label="Group">' in html
    assert '<option value="2" selected>Two</option>' in html
    assert '<option value="">---</option>' in html


def test_a_multiple_select_is_multiple() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["many"])
    (select,) = _tags(html, "select")
    assert "multiple" in select
    assert html.count(" selected>") == 2


def test_radio_buttons_are_a_fieldset_of_form_checks() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["kind"])
    assert html.startswith('<div id="div_id_kind" class="mb-3"><fieldset aria-describedby=')
    assert '<legend class="form-label requiredField fs-6">' in html
    radios = _tags(html, "input")
    assert [r["id"] for r in radios] == ["id_kind_0", "id_kind_1"]
    assert [r["class"] for r in radios] == ["form-check-input"] * 2
    assert ["checked" in r for r in radios] == [False, True]
    assert '<label for="id_kind_1" class="form-check-label">Software</label>' in html
    assert html.endswith('<div id="id_kind_helptext" class="form-text">Pick</div></fieldset></div>')


def test_a_radio_error_follows_the_last_option() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["grouped_kind"])
    assert "<strong>Group</strong>" in html
    radios = _tags(html, "input")
    assert all("is-invalid" in r["class"].split() for r in radios)
    assert [r["id"] for r in radios] == [
        "id_grouped_kind_0_0",
        "id_grouped_kind_0_1",
        "id_grouped_kind_1",
    ]
    assert html.index('for="id_grouped_kind_1"') < html.index("invalid-feedback")
    assert "Select a valid choice. nope is not one of the available choices." in html


def test_checkboxes_keep_what_was_ticked() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["tried"])
    boxes = _tags(html, "input")
    assert [b["value"] for b in boxes] == ["power", "cable"]
    assert ["checked" in b for b in boxes] == [False, True]
    assert all("required" not in b for b in boxes)


def test_a_single_checkbox_has_its_label_after_it() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["agree"])
    assert html.startswith('<div class="mb-3"><div id="div_id_agree" class="form-check">')
    (box,) = _tags(html, "input")
    assert box["class"] == "checkboxinput form-check-input"
    assert "checked" in box
    assert '<label for="id_agree" class="form-check-label">Overdue only</label>' in html
    required = bs_field(EveryWidget({})["must_agree"])
    assert "is-invalid" in _tags(required, "input")[0]["class"]
    assert 'class="form-check-label requiredField">I agree<span class="asteriskField">' in required


def test_a_multiple_file_input_takes_several_files() -> None:
    html = bs_field(EveryWidget()["files"])
    (field,) = _tags(html, "input")
    assert field["type"] == "file"
    assert field["class"] == "form-control"
    assert "multiple" in field
    assert field["accept"] == ".pdf"
    assert "value" not in field
    missing = bs_field(EveryWidget({})["one_file"])
    assert '<div class="is-invalid"><input type="file"' in missing
    assert "is-invalid" in _tags(missing, "input")[0]["class"]


def test_a_textarea_keeps_its_rows_class_and_text() -> None:
    html = bs_field(EveryWidget(BAD_INPUT)["body"])
    (area,) = _tags(html, "textarea")
    assert area["rows"] == "3"
    assert area["class"] == "form-control mine textarea"
    assert ">\na &lt; b</textarea>" in html


def test_a_disabled_field_stays_disabled() -> None:
    (field,) = _tags(bs_field(EveryWidget()["locked"]), "input")
    assert "disabled" in field
    assert field["value"] == "fixed"


def test_hidden_fields_are_bare_inputs_and_non_field_errors_come_first() -> None:
    html = bs(EveryWidget(BAD_INPUT))
    assert html.startswith(
        '<div class="alert alert-block alert-danger"><ul class="m-0">'
        "<li>Something is off with the whole form.</li></ul></div>"
    )
    assert '<input type="hidden" name="token" id="id_token">' in html
    assert "div_id_token" not in html
    assert '<input type="hidden" name="token" value="t-1" id="id_token">' in bs(EveryWidget())


def test_prefixed_forms_keep_their_ids() -> None:
    html = bs(QuoteForm(prefix="quote"))
    assert '<div id="div_id_quote-amount" class="mb-3">' in html
    assert 'for="id_quote-amount"' in html
    assert 'name="quote-amount"' in html
    assert 'id="id_quote-covers"' in html


def test_a_field_from_a_form_with_a_helper_is_left_to_crispy() -> None:
    from crispy_forms.helper import FormHelper

    form = EveryWidget()
    form.helper = FormHelper()
    form.helper.form_show_labels = False
    html = bs_field(form["text"])
    assert "<label" not in html


def test_an_unknown_widget_renders_itself() -> None:
    class Stars(forms.TextInput):
        def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> str:
            return mark_safe(f'<span class="stars">{attrs["class"]}</span>')

    class RatingForm(forms.Form):
        rating = forms.CharField(widget=Stars)
        when = forms.SplitDateTimeField()

    html = bs(RatingForm({"rating": "4", "when_0": "x"}))
    assert '<span class="stars">stars form-control</span>' in html
    assert '<span class="stars">stars form-control is-invalid</span>' in bs(RatingForm({}))
    # A MultiWidget: both inputs, with the Bootstrap class, the error after them.
    inputs = _tags(html, "input")
    assert [i["name"] for i in inputs] == ["when_0", "when_1"]
    assert all("form-control" in i["class"].split() for i in inputs)
    assert 'id="id_when_error" class="invalid-feedback"' in html


def test_bs_field_refuses_what_is_not_a_field() -> None:
    with pytest.raises(TypeError):
        bs_field("")


# Escaping -------------------------------------------------------------------------------


class HostileForm(forms.Form):
    name = forms.CharField(label=HOSTILE, help_text=HOSTILE)
    kind = forms.ChoiceField(choices=[(HOSTILE, HOSTILE)], widget=forms.RadioSelect, label=HOSTILE)
    pick = forms.ChoiceField(choices=[(HOSTILE, [(HOSTILE, HOSTILE)])], label=HOSTILE)
    tick = forms.BooleanField(label=HOSTILE)
    body = forms.CharField(widget=forms.Textarea, label=HOSTILE)
    files = forms.FileField(widget=MultipleFileInput, help_text=HOSTILE, label=HOSTILE)
    token = forms.CharField(widget=forms.HiddenInput)
    # Attributes too: a placeholder may carry a translator's or a record's text.
    hint = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"placeholder": '"><script>alert(3)'})
    )

    def clean_name(self) -> str:
        raise forms.ValidationError(HOSTILE)

    def clean(self) -> dict[str, Any]:
        raise forms.ValidationError(HOSTILE)


def test_labels_values_choices_and_errors_are_escaped() -> None:
    data = {
        "name": HOSTILE,
        "kind": HOSTILE,
        "pick": "'\"><script>",
        "body": "</textarea>" + HOSTILE,
    }
    data["token"] = '"><script>alert(2)</script>'
    html = bs(HostileForm(data))
    assert "<script" not in html
    assert "</textarea><script" not in html
    assert html.count("</textarea>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in html
    assert 'placeholder="&quot;&gt;&lt;script&gt;alert(3)"' in html
    # The parser sees no element that was not put there by the renderer.
    tags = {item[1] for item in canonical(html) if item[0] == "start"}
    assert tags <= {"div", "label", "span", "input", "fieldset", "legend", "select"} | {
        "optgroup",
        "option",
        "strong",
        "p",
        "textarea",
        "ul",
        "li",
    }


def test_hostile_text_is_escaped_in_every_widget() -> None:
    form = HostileForm({"name": "x"})
    for name in ("name", "kind", "pick", "tick", "body", "files", "hint"):
        html = bs_field(form[name])
        assert "<script" not in html, name
        assert "&lt;script&gt;" in html, name


def test_help_text_marked_safe_by_the_developer_stays_markup() -> None:
    class Helped(forms.Form):
        name = forms.CharField(help_text=mark_safe("See <em>the label</em>"))

    assert "See <em>the label</em>" in bs_field(Helped()["name"])


def test_a_decimal_value_is_written_plainly() -> None:
    html = bs(QuoteForm(initial={"amount": Decimal("12.50")}, prefix="q"))
    assert 'value="12.50"' in html
