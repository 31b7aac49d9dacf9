from django.urls import path, register_converter

from tickets.converters import ReferenceConverter
from tickets.forms_work import WORK_ACTIONS
from tickets.views import bulk, canned, duty, merchant, notifications, saved, search, work

register_converter(ReferenceConverter, "ref")

app_name = "tickets"

urlpatterns = [
    # Merchant pages
    path("tickets/", merchant.ticket_list, name="list"),
    path("notifications/", notifications.shop_notifications, name="notifications"),
    path("tickets/new/", merchant.ticket_new, name="new"),
    path("tickets/<ref:reference>/", merchant.ticket_detail, name="detail"),
    path("tickets/<ref:reference>/reply/", merchant.ticket_reply, name="reply"),
    path("tickets/<ref:reference>/cancel/", merchant.ticket_cancel, name="cancel"),
    path("tickets/<ref:reference>/quote/accept/", merchant.quote_accept, name="quote_accept"),
    path("tickets/<ref:reference>/quote/decline/", merchant.quote_decline, name="quote_decline"),
    path("tickets/<ref:reference>/confirm/", merchant.ticket_confirm, name="confirm"),
    path("tickets/<ref:reference>/reopen/", merchant.ticket_reopen, name="reopen"),
    path("tickets/<ref:reference>/rate/", merchant.ticket_rate, name="rate"),
    path("tickets/<ref:reference>/proof/", merchant.ticket_add_proof, name="add_proof"),
    # Shared by both sides: the view checks merchant or technician scope.
    path(
        "tickets/<ref:reference>/attachments/<int:pk>/",
        merchant.attachment_download,
        name="attachment",
    ),
    # Technician workspace
    path("work/", work.work_home, name="work"),
    path("work/search/", search.work_search, name="work_search"),
    path("work/mine/", search.work_mine, name="work_mine"),
    path("work/duty/", duty.work_duty, name="work_duty"),
    path("work/notifications/", notifications.work_notifications, name="work_notifications"),
    path("work/queues/<int:pk>/save-view/", saved.saved_view_new, name="saved_view_new"),
    path("work/views/<int:pk>/delete/", saved.saved_view_delete, name="saved_view_delete"),
    path("work/canned/", canned.canned_list, name="canned"),
    path("work/canned/new/", canned.canned_new, name="canned_new"),
    path("work/canned/<int:pk>/edit/", canned.canned_edit, name="canned_edit"),
    path("work/canned/<int:pk>/delete/", canned.canned_delete, name="canned_delete"),
    path("work/queues/<int:pk>/", work.work_queue, name="queue"),
    path("work/bulk/", bulk.work_bulk, name="work_bulk"),
    path("work/tickets/<ref:reference>/", work.work_ticket, name="work_ticket"),
    # One entry per technician action, all to the one view (tickets.forms_work.WORK_ACTIONS)
    *(
        path(
            f"work/tickets/<ref:reference>/{action.path}/",
            work.work_action,
            {"name": name},
            name=f"work_{name}",
        )
        for name, action in WORK_ACTIONS.items()
    ),
    path("work/tickets/<ref:reference>/proof/", work.work_proof, name="work_proof"),
]
