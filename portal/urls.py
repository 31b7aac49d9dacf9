from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import accounts, language, views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Forgotten passwords: a link by e-mail (portal.accounts), Django's views and tokens.
    path(
        "accounts/password/reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("devices/", include("devices.urls")),
    path("work/terminals/", include("devices.urls_work")),
    path("", include("tickets.urls")),
    path("", include("outages.urls")),
    path("", include("repairs.urls")),
    path("", include("reports.urls")),
    path("", include("api.urls")),
    path("", include("webhooks.urls")),
    path("", include("mail.urls")),
    path("", include("ops.urls")),
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("admin/", admin.site.urls),
]
