from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("work/webhooks/", views.endpoint_list, name="list"),
    path("work/webhooks/new/", views.endpoint_new, name="new"),
    path("work/webhooks/<int:pk>/", views.endpoint_detail, name="endpoint"),
    path("work/webhooks/<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("work/webhooks/<int:pk>/secret/", views.endpoint_rotate, name="rotate"),
    path("work/webhooks/<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("work/webhooks/deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path(
        "work/webhooks/deliveries/<int:pk>/redeliver/",
        views.delivery_redeliver,
        name="redeliver",
    ),
]
