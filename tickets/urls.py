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
    # --- end of merchant pages ---
    # --- Technician workspace (tickets/views/work.py) ---
    path("work/", work.work_home, name="work"),
    # --- end of technician workspace ---
]
