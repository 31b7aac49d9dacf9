"""The schema and its Swagger UI, for people logged in (a session) or holding a key.

Swagger UI is served from our static files (drf-spectacular-sidecar). Under the site's
CSP its inline start-up script would be refused: drf-spectacular's view writes the
script inline, so this one view's page sets the nonce Django's CSP middleware gives the
request on that script (the template is ours, api/templates/api/swagger_ui.html). No
exemption: the policy of the docs page is the site's.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny


class SchemaView(SpectacularAPIView):
    pass


@method_decorator(login_required, name="get")
class DocsView(SpectacularSwaggerView):
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    # A browser page: login_required sends anonymous people to log in (the page holds
    # no data; the schema it fetches is for callers of the API only).
    permission_classes = [AllowAny]
