from django.urls import path

from reports import views, views_lists

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_page, name="index"),
    path("reports/scorecard/", views.scorecard_page, name="scorecard"),
    path("reports/export/<str:table>.<str:fmt>", views.report_export, name="export"),
    # The lists' exports, beside their pages (reports.views_lists).
    path("work/queues/<int:pk>/export.<str:fmt>", views_lists.queue_export, name="queue_export"),
    path("work/search/export.<str:fmt>", views_lists.search_export, name="search_export"),
    path("work/mine/export.<str:fmt>", views_lists.mine_export, name="mine_export"),
    path("tickets/export.<str:fmt>", views_lists.merchant_tickets_export, name="tickets_export"),
    path("devices/export.<str:fmt>", views_lists.merchant_devices_export, name="devices_export"),
]
