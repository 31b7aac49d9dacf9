"""Strings Django itself shows on our pages but does not translate, or not well.

`makemessages` keeps only strings it finds in our code, so these are named here for
our catalogue (locale/zh_Hans) to translate them; they are looked up in Django's own
domain, where our catalogue comes first.
"""

from django.utils.translation import gettext_noop

STRINGS = (
    # Django 6.1's empty choice of a model field's select (db/models/fields BLANK_CHOICE).
    gettext_noop("- Select an option -"),
    # Django's own Chinese for EmailValidator's message keeps the English word "Email".
    gettext_noop("Enter a valid email address."),
)
