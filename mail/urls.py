from django.urls import path

from mail import views

app_name = "mail"

urlpatterns = [
    path("mail/inbound/", views.inbound_mail, name="inbound"),
]
