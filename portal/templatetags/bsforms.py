"""Bootstrap 5 form markup written in Python: `{{ form|bs_form }}` and `{{ field|bs_field }}`.

Drop-ins for crispy-forms' `|crispy` and `|as_crispy_field` with its bootstrap5 pack:
the same wrapper, label, classes, error and help-text markup, so pages look and behave
the same. Crispy renders every field through five to eight templates (field, errors,
help text, the widget and, for a select, one include per option); on the technician
ticket page the seven action forms cost about 15 ms of the page's 54 (bench/RESULTS.md).
This module builds the same HTML with string formatting instead.

Everything that comes from data is escaped here: values always (`escape`), labels,
choices and errors as Django's templates do (`conditional_escape`: only text a developer
marked safe is left alone). A widget this module does not know (a custom template, an
overridden `render`, a MultiWidget) is rendered by the widget itself through
`BoundField.as_widget`, with the same classes, so nothing breaks; a form with a crispy
`helper`, a formset and a file input showing its current file go to crispy unchanged.
"""

from __future__ import annotations

from html import escape as html_escape
from typing import Any

from django import forms, template
from django.conf import settings
from django.forms.boundfield import BoundField
from django.forms.formsets import BaseFormSet
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input text number email url color search tel password hidden date datetime time "
        "checkbox file"
    ).split()
)
_SELECT_TEMPLATE = "django/forms/widgets/select.html"
_OPTION_TEMPLATE = "django/forms/widgets/select_option.html"
_TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"
_ASTERISK = '<span class="asteriskField">*</span>'


# Django's escape() and conditional_escape() give the same text, but go through
# keep_lazy's wrapper on every call: a field's markup makes about fifteen of them.
def escape(value: object) -> str:
    """Always escaped, as `{{ value|stringformat:"s" }}` in Django's widget templates."""
    return html_escape(str(value))


def conditional_escape(value: object) -> str:
    """Escaped unless marked safe, as `{{ value }}` in a template."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html_escape(str(value))


def _attrs(attrs: dict[str, Any]) -> str:
    """Django's widgets/attrs.html: in order, True as a bare name, False (and None) left
    out, every value escaped."""
    parts = []
    for name, value in attrs.items():
        if value is True:
            parts.append(f" {escape(name)}")
        elif value is not False and value is not None:
            parts.append(f' {escape(name)}="{escape(value)}"')
    return "".join(parts)


def _css_class(widget: forms.Widget, extra: str) -> str:
    """The class crispy's `{% crispy_field %}` gives a widget: the widget's own classes,
    its class name in lower case ("textinput", "select"), then the Bootstrap classes."""
    class_name = widget.__class__.__name__.lower()
    class_name = getattr(settings, "CRISPY_CLASS_CONVERTERS", {}).get(class_name, class_name)
    css = widget.attrs.get("class", "")
    if not css:
        css = class_name
    elif class_name not in css:
        css += f" {class_name}"
    words = css.split()
    for word in extra.split():
        if word not in words:
            css += f" {word}"
            words.append(word)
    return css


def _renders_by_template(widget: forms.Widget) -> bool:
    return type(widget).render is forms.Widget.render


def _input(w: dict[str, Any]) -> str:
    value = "" if w["value"] is None else f' value="{escape(w["value"])}"'
    return (
        f'<input type="{escape(w["type"])}" name="{escape(w["name"])}"{value}{_attrs(w["attrs"])}>'
    )


def _textarea(w: dict[str, Any]) -> str:
    value = escape(w["value"]) if w["value"] else ""
    return f'<textarea name="{escape(w["name"])}"{_attrs(w["attrs"])}>\n{value}</textarea>'


def _select(w: dict[str, Any]) -> str:
    parts = [f'<select name="{escape(w["name"])}"{_attrs(w["attrs"])}>']
    for group_name, options, _index in w["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        parts.extend(
            f'\n  <option value="{escape(option["value"])}"{_attrs(option["attrs"])}>'
            f"{conditional_escape(option['label'])}</option>"
            for option in options
        )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _widget_context(bf: BoundField, attrs: dict[str, Any]) -> dict[str, Any]:
    """What `BoundField.as_widget` hands the widget's template, without rendering it."""
    widget = bf.field.widget
    if bf.field.localize:
        widget.is_localized = True
    attrs = bf.build_widget_attrs(attrs, widget)
    if bf.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", bf.auto_id)
    return widget.get_context(bf.html_name, bf.value(), attrs)["widget"]


def _widget(bf: BoundField, css: str) -> str:
    widget = bf.field.widget
    attrs = {"class": css}
    html = None
    if _renders_by_template(widget):
        name = widget.template_name
        if name in _INPUT_TEMPLATES:
            html = _input(_widget_context(bf, attrs))
        elif name == _TEXTAREA_TEMPLATE:
            html = _textarea(_widget_context(bf, attrs))
        elif name == _SELECT_TEMPLATE and widget.option_template_name == _OPTION_TEMPLATE:
            html = _select(_widget_context(bf, attrs))
    if html is None:
        html = str(bf.as_widget(attrs=attrs))
    if bf.field.show_hidden_initial:
        html += str(bf.as_hidden(only_initial=True))
    return html


def _errors(bf: BoundField) -> str:
    errors = bf.errors
    if not errors:
        return ""
    field_id = escape(getattr(errors, "field_id", None) or bf.auto_id)
    auto_id = escape(bf.auto_id)
    items = "".join(
        f'<p id="error_{n}_{auto_id}"><strong>{conditional_escape(error)}</strong></p>'
        for n, error in enumerate(errors, 1)
    )
    return f'<div id="{field_id}_error" class="invalid-feedback">{items}</div>'


def _help(bf: BoundField) -> str:
    # Help text is the developer's (and translators') wording, never user data; it is
    # escaped unless marked safe (crispy and Django's own templates print it raw).
    if not bf.help_text:
        return ""
    id_ = f' id="{escape(bf.auto_id)}_helptext"' if bf.auto_id else ""
    return f'<div{id_} class="form-text">{conditional_escape(bf.help_text)}</div>'


def _wrapper_class(bf: BoundField, base: str) -> str:
    extra = bf.css_classes()
    return f"{base} {escape(extra)}" if extra else base


def _label(bf: BoundField, tag: str, css: str) -> str:
    required = bf.field.required
    id_for_label = bf.id_for_label if tag == "label" else ""
    for_ = f' for="{escape(id_for_label)}"' if id_for_label else ""
    css += " requiredField" if required else ""
    if tag == "legend":
        css += " fs-6"
    asterisk = _ASTERISK if required else ""
    return f'<{tag}{for_} class="{css}">{conditional_escape(bf.label)}{asterisk}</{tag}>'


def _checkbox(bf: BoundField) -> str:
    """A single checkbox: input, then its label, inside a form-check."""
    widget = bf.field.widget
    css = _css_class(widget, "form-check-input is-invalid" if bf.errors else "form-check-input")
    required = bf.field.required
    label = (
        f' <label for="{escape(bf.id_for_label)}" class="form-check-label'
        f'{" requiredField" if required else ""}">{conditional_escape(bf.label)}'
        f"{_ASTERISK if required else ''}</label>"
    )
    return (
        f'<div class="mb-3"><div id="div_{escape(bf.auto_id)}" '
        f'class="{_wrapper_class(bf, "form-check")}">{_widget(bf, css)}{label}'
        f"{_errors(bf)}{_help(bf)}</div></div>"
    )


def _choices(bf: BoundField) -> str:
    """Radio buttons or checkboxes, one form-check each, as crispy's
    radio_checkbox_select.html (errors after the last option, help after them all)."""
    widget = bf.field.widget
    id_ = widget.attrs.get("id") or bf.auto_id
    attrs = bf.build_widget_attrs({"id": id_} if id_ else {})
    groups = widget.optgroups(bf.html_name, widget.format_value(bf.value()), attrs)
    input_class = "form-check-input is-invalid" if bf.errors else "form-check-input"
    name = escape(bf.html_name)
    parts = ["<div>"]
    for g, (group, options, _index) in enumerate(groups, 1):
        if group:
            parts.append(f"<strong>{conditional_escape(group)}</strong>")
        for o, option in enumerate(options, 1):
            errors = _errors(bf) if o == len(options) and g == len(groups) else ""
            parts.append(
                f'<div class="form-check"><input type="{escape(option["type"])}" '
                f'class="{input_class}" name="{name}" value="{escape(option["value"])}"'
                f'{_attrs(option["attrs"])}> <label for="{escape(option["attrs"].get("id", ""))}" '
                f'class="form-check-label">{escape(option["label"])}</label>{errors}</div>'
            )
    parts.append("</div>")
    return "".join(parts) + _help(bf)


def _file(bf: BoundField) -> str | None:
    """A file input as crispy's field_file.html; None for a file input that shows its
    current file (crispy's input group with a clear checkbox: left to crispy)."""
    w = _widget_context(bf, {})
    if w.get("is_initial"):
        return None
    attrs = dict(w["attrs"])
    own = attrs.pop("class", "")
    css = "form-control" + (f" {own}" if own else "") + (" is-invalid" if bf.errors else "")
    disabled = " disabled" if bf.field.disabled and "disabled" not in attrs else ""
    wrapper = ' class="is-invalid"' if bf.errors else ""
    return (
        f"<div{wrapper}>"
        f'<input type="{escape(w["type"])}" name="{escape(w["name"])}" class="{escape(css)}"'
        f"{disabled}{_attrs(attrs)}>{_errors(bf)}{_help(bf)}</div>"
    )


def render_field(bf: BoundField) -> SafeString:
    """One field as crispy's bootstrap5 field.html renders it (vertical form, labels and
    errors shown)."""
    if bf.is_hidden:
        return str(bf)  # the widget's own markup, already safe
    widget = bf.field.widget
    if isinstance(widget, forms.CheckboxInput):
        return mark_safe(_checkbox(bf))  # noqa: S308 - every part is escaped above
    use_fieldset = bf.use_fieldset
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        body = _choices(bf)
    elif isinstance(widget, forms.FileInput):
        body = _file(bf)
        if body is None:
            from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

            return as_crispy_field(bf)
    else:
        if isinstance(widget, forms.Select):
            css = "form-select is-invalid" if bf.errors else "form-select"
        else:
            css = "form-control is-invalid" if bf.errors else "form-control"
        body = _widget(bf, _css_class(widget, css)) + _errors(bf) + _help(bf)
    label = ""
    if bf.label:
        if use_fieldset:
            describedby = bf.aria_describedby
            aria = f' aria-describedby="{escape(describedby)}"' if describedby else ""
            label = f"<fieldset{aria}>" + _label(bf, "legend", "form-label")
            body += "</fieldset>"
        else:
            label = _label(bf, "label", "form-label")
    return mark_safe(  # noqa: S308 - every part is escaped above
        f'<div id="div_{escape(bf.auto_id)}" class="{_wrapper_class(bf, "mb-3")}">'
        f"{label}{body}</div>"
    )


def render_form(form: forms.BaseForm) -> SafeString:
    """The non-field errors, then every field in order (hidden ones as bare inputs), as
    crispy's `|crispy` filter renders a form without a layout."""
    parts = []
    errors = form.non_field_errors()
    if errors:
        items = "".join(f"<li>{conditional_escape(error)}</li>" for error in errors)
        parts.append(
            f'<div class="alert alert-block alert-danger"><ul class="m-0">{items}</ul></div>'
        )
    parts.extend(render_field(bf) for bf in form)
    return mark_safe("\n".join(parts))  # noqa: S308 - every part is escaped


@register.filter
def bs_field(field: BoundField) -> SafeString:
    """`{{ form.name|bs_field }}`: the drop-in for crispy's `|as_crispy_field`."""
    if not isinstance(field, BoundField):
        raise TypeError(f"|bs_field needs a form field, not {type(field).__name__}")
    if getattr(field.form, "helper", None) is not None:
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

        return as_crispy_field(field)  # the helper's own settings and field template
    return render_field(field)


@register.filter
def bs_form(form: forms.BaseForm | BaseFormSet) -> SafeString:
    """`{{ form|bs_form }}`: the drop-in for crispy's `|crispy`."""
    if isinstance(form, BaseFormSet):
        from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

        return as_crispy_form(form)
    return render_form(form)
