from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_page, name="index"),
    path("reports/scorecard/", views.scorecard_page, name="scorecard"),
    path("reports/export/<str:table>.<str:fmt>", views.report_export, name="export"),
]
