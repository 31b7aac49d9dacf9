from django.urls import path, register_converter

from tickets.converters import ReferenceConverter
from tickets.views import merchant, work

register_converter(ReferenceConverter, "ref")

app_name = "tickets"

urlpatterns = [
    # --- Merchant pages (tickets/views/merchant.py) ---
    path("tickets/", merchant.ticket_list, name="list"),
    path("tickets/new/", merchant.ticket_new, name="new"),
    path("tickets/<ref:reference>/", merchant.ticket_detail, name="detail"),
    path("tickets/<ref:reference>/reply/", merchant.ticket_reply, name="reply"),
    path("tickets/<ref:reference>/cancel/", merchant.ticket_cancel, name="cancel"),
    path("tickets/<ref:reference>/quote/accept/", merchant.quote_accept, name="quote_accept"),
    path("tickets/<ref:reference>/quote/decline/", merchant.quote_decline, name="quote_decline"),
    path("tickets/<ref:reference>/confirm/", merchant.ticket_confirm, name="confirm"),
    path("tickets/<ref:reference>/reopen/", merchant.ticket_reopen, name="reopen"),
    path("tickets/<ref:reference>/rate/", merchant.ticket_rate, name="rate"),
    # Shared by both sides: the view checks merchant or technician scope.
    path(
        "tickets/<ref:reference>/attachments/<int:pk>/",
        merchant.attachment_download,
        name="attachment",
    ),
    # --- end of merchant pages ---
    # --- Technician workspace (tickets/views/work.py) ---
    path("work/", work.work_home, name="work"),
    # --- end of technician workspace ---
]
