"""POST /mail/inbound/: a raw e-mail from a mail service (or an MTA's HTTP hook) lands
as a reply on its ticket, as `manage.py mailgate` does from stdin.

Authenticated by a shared secret in the X-PosDesk-Mail-Token header (MAIL_INBOUND_TOKEN,
compared in constant time); with no secret set the endpoint does not exist (404). The
body is the message itself (Content-Type message/rfc822, or any). Answers JSON:
200 taken, 403 wrong secret, 413 too large, 422 refused (the code says why), 503 try
again later.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mail import inbound

HEADER = "X-PosDesk-Mail-Token"
STATUS = {
    inbound.EX_OK: 200,
    inbound.EX_TEMPFAIL: 503,
}


@csrf_exempt  # a server-to-server call, authenticated by its own secret
@require_POST
def inbound_mail(request: HttpRequest) -> JsonResponse:
    secret = settings.MAIL_INBOUND_TOKEN
    if not secret:
        raise Http404
    if not constant_time_compare(request.headers.get(HEADER, ""), secret):
        return JsonResponse({"status": "forbidden"}, status=403)
    length = int(request.headers.get("Content-Length") or 0)
    if length > settings.MAIL_INBOUND_MAX_BYTES:
        return JsonResponse({"status": "refused", "code": "too_large"}, status=413)
    # Read as a stream: request.body stops at DATA_UPLOAD_MAX_MEMORY_SIZE, smaller than
    # an e-mail with photos may be.
    outcome = inbound.receive(request.read(settings.MAIL_INBOUND_MAX_BYTES + 1))
    status = STATUS.get(outcome.exit_code, 422)
    if outcome.code == "too_large":
        status = 413
    body: dict = {"status": outcome.code if outcome.accepted else "refused", "code": outcome.code}
    if outcome.event_id is not None:
        body["event"] = outcome.event_id
    return JsonResponse(body, status=status)
