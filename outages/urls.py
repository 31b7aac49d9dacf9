from django.urls import path

from outages import views_merchant, views_sales, views_work
from tickets.urls import ReferenceConverter  # noqa: F401 - registers <ref:...>

app_name = "outages"

urlpatterns = [
    # Technicians of the incident's provider
    path("work/incidents/", views_work.incident_list, name="work_incidents"),
    path("work/incidents/new/", views_work.incident_new, name="work_incident_new"),
    path("work/incidents/<int:pk>/", views_work.incident_detail, name="work_incident"),
    path(
        "work/incidents/<int:pk>/confirm/",
        views_work.incident_confirm,
        name="work_incident_confirm",
    ),
    path(
        "work/incidents/<int:pk>/update/", views_work.incident_update, name="work_incident_update"
    ),
    path(
        "work/incidents/<int:pk>/resolve/",
        views_work.incident_resolve,
        name="work_incident_resolve",
    ),
    path(
        "work/tickets/<ref:reference>/offline-sales/",
        views_sales.work_offline_sales,
        name="work_offline_sales",
    ),
    # Merchants
    path("tickets/incidents/<int:pk>/me-too/", views_merchant.me_too, name="me_too"),
    path(
        "tickets/<ref:reference>/payments-back/",
        views_merchant.payments_back,
        name="payments_back",
    ),
    path(
        "tickets/<ref:reference>/offline-sales/",
        views_sales.offline_sales,
        name="offline_sales",
    ),
    path(
        "tickets/<ref:reference>/offline-sales.csv",
        views_sales.offline_sales_csv,
        name="offline_sales_csv",
    ),
    path(
        "tickets/<ref:reference>/offline-sales/print/",
        views_sales.offline_sales_print,
        name="offline_sales_print",
    ),
]
