"""The technician's terminal pages, under /work/terminals/ (see devices.views_work)."""

from django.urls import path

from devices import views_register, views_work

app_name = "terminals"

urlpatterns = [
    path("register/", views_register.register_upload, name="register"),
    path("register/confirm/", views_register.register_confirm, name="register_confirm"),
    path("<int:pk>/", views_work.terminal_detail, name="detail"),
    path("<int:pk>/warranty/", views_work.terminal_warranty, name="warranty"),
    path("<int:pk>/proof/", views_work.terminal_proof, name="proof"),
]
