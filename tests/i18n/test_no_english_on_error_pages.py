"""No English sentence of PosDesk's own on a Chinese page (issue 12): the error pages
Django's handlers render (404 and the CSRF refusal are reached in
test_no_english_after_forms.py).

Apart from test_no_english_after_forms.py, whose tests share one lived-in world for the
module (tests/i18n/conftest.py): this one makes the plain `world`, whose people have the
same names.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.utils import translation
from django.views import defaults

from tests.i18n.conftest import LivedIn, entered_data
from tests.i18n.reading import LANGUAGES, findings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("handler", ["bad_request", "permission_denied", "server_error"])
def test_the_error_pages_are_chinese(world, rf, handler: str) -> None:  # noqa: ANN001
    """The pages Django's handlers render, in both languages."""
    pages = {}
    for language in LANGUAGES:
        request = rf.get("/somewhere/")
        request.user = AnonymousUser()
        with translation.override(language):
            if handler == "server_error":
                pages[language] = defaults.server_error(request)
            elif handler == "bad_request":
                pages[language] = defaults.bad_request(request, SuspiciousOperation())
            else:
                pages[language] = defaults.permission_denied(request, PermissionDenied())
    found = findings(pages["en"], pages["zh-hans"], entered_data(LivedIn(world=world)))
    assert found == [], "\n".join(found)
