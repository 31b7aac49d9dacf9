from django.urls import path, register_converter

from tickets import views
from tickets.converters import ReferenceConverter

register_converter(ReferenceConverter, "ref")

app_name = "tickets"

urlpatterns = [
    # Merchant pages
    path("tickets/", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<ref:reference>/", views.ticket_detail, name="detail"),
    # Technician workspace
    path("work/", views.work_home, name="work"),
]
