from django.urls import path, register_converter

from tickets.converters import ReferenceConverter
from tickets.views import canned, duty, merchant, search, work

register_converter(ReferenceConverter, "ref")

app_name = "tickets"

urlpatterns = [
    # Merchant pages
    path("tickets/", merchant.ticket_list, name="list"),
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
    path("work/canned/", canned.canned_list, name="canned"),
    path("work/canned/new/", canned.canned_new, name="canned_new"),
    path("work/canned/<int:pk>/edit/", canned.canned_edit, name="canned_edit"),
    path("work/canned/<int:pk>/delete/", canned.canned_delete, name="canned_delete"),
    path("work/queues/<int:pk>/", work.work_queue, name="queue"),
    path("work/tickets/<ref:reference>/", work.work_ticket, name="work_ticket"),
    path("work/tickets/<ref:reference>/claim/", work.work_claim, name="work_claim"),
    path("work/tickets/<ref:reference>/assign/", work.work_assign, name="work_assign"),
    path("work/tickets/<ref:reference>/reply/", work.work_reply, name="work_reply"),
    path("work/tickets/<ref:reference>/note/", work.work_note, name="work_note"),
    path("work/tickets/<ref:reference>/ask/", work.work_ask, name="work_ask"),
    path("work/tickets/<ref:reference>/quote/", work.work_quote, name="work_quote"),
    path("work/tickets/<ref:reference>/transfer/", work.work_transfer, name="work_transfer"),
    path(
        "work/tickets/<ref:reference>/loaner/issue/",
        work.work_loaner_issue,
        name="work_loaner_issue",
    ),
    path(
        "work/tickets/<ref:reference>/loaner/return/",
        work.work_loaner_return,
        name="work_loaner_return",
    ),
    path("work/tickets/<ref:reference>/resolve/", work.work_resolve, name="work_resolve"),
    path(
        "work/tickets/<ref:reference>/warranty/verify/",
        work.work_warranty_verify,
        name="work_warranty_verify",
    ),
    path(
        "work/tickets/<ref:reference>/warranty/reject/",
        work.work_warranty_reject,
        name="work_warranty_reject",
    ),
    path("work/tickets/<ref:reference>/proof/", work.work_proof, name="work_proof"),
]
