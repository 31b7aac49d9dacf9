from django.urls import path

# The ticket reference converter <ref:…> is registered by tickets.urls, imported here first.
import tickets.urls  # noqa: F401
from api.views import docs, keys, queues, terminals, tickets

app_name = "api"

T = "api/v1/tickets/<ref:reference>/"

urlpatterns = [
    # The browser's pages: a person's API keys.
    path("api/keys/", keys.key_list, name="keys"),
    path("api/keys/revoke/", keys.key_revoke, name="key_revoke"),
    # The schema and its documentation.
    path("api/schema/", docs.SchemaView.as_view(), name="schema"),
    path("api/docs/", docs.DocsView.as_view(), name="docs"),
    # /api/v1/
    path("api/v1/terminals/", terminals.TerminalListView.as_view(), name="terminals"),
    path("api/v1/terminals/bulk/", terminals.TerminalBulkView.as_view(), name="terminal_bulk"),
    path("api/v1/terminals/<int:pk>/", terminals.TerminalDetailView.as_view(), name="terminal"),
    path(
        "api/v1/terminals/<int:pk>/incidents/",
        terminals.TerminalIncidentsView.as_view(),
        name="terminal_incidents",
    ),
    path("api/v1/tickets/", tickets.TicketListView.as_view(), name="tickets"),
    path(T, tickets.TicketDetailView.as_view(), name="ticket"),
    path(T + "reply/", tickets.ReplyView.as_view(), name="ticket_reply"),
    *(
        path(T + f"{name}/", tickets.technician_view(name).as_view(), name=f"ticket_{name}")
        for name in tickets.TECHNICIAN_ACTIONS
        if name != "reply"
    ),
    *(
        path(
            T + f"{action.path}/",
            tickets.merchant_view(name).as_view(),
            name=f"ticket_{name}",
        )
        for name, action in tickets.MERCHANT_ACTIONS.items()
        if name != "merchant_reply"
    ),
    path("api/v1/queues/", queues.QueueListView.as_view(), name="queues"),
    path("api/v1/queues/<int:pk>/", queues.QueueDetailView.as_view(), name="queue"),
    path("api/v1/incidents/", queues.IncidentListView.as_view(), name="incidents"),
    path("api/v1/incidents/<int:pk>/", queues.IncidentDetailView.as_view(), name="incident"),
]
