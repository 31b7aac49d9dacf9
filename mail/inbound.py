"""Replies by e-mail: a raw MIME message in, a reply on its ticket out.

The two ways in (`manage.py mailgate` on stdin, as Request Tracker's rt-mailgate, and
POST /mail/inbound/ with a shared secret) both call `receive(raw)`, which:

1. finds our Reply-To token (mail.replies) in To, Cc, Delivered-To, X-Original-To or
   Envelope-To; none, a forged one, one for a user or ticket that no longer exists, or
   a From address other than that user's: refused and logged;
2. checks the ticket is still in that person's scope (`workflow.role_for`, the web's
   rule): a technician moved to another provider, or a member who left the shop, is
   refused;
3. takes the text (the text/plain part, else the HTML one turned into text), strips the
   quoted message and the signature (English and Chinese quote headers: "On … wrote:",
   "在 … 写道：", "-----Original Message-----", "From:/发件人:" blocks, "> " lines,
   "-- " signatures, "Sent from my iPhone" / "发自我的iPhone");
4. cuts every card number to its last four digits (tickets.pci), noted in the event's
   data and shown under the reply, never stored whole;
5. checks each attachment as an upload is checked (tickets.uploads): a refused one is
   not kept and is named under the reply (e-mail cannot show a form error, and the
   text should not be lost for a wrong file); a technician's reply keeps none (the web
   form of a technician's reply takes no files either);
6. writes the reply through the web's own service: `tickets.services.merchant_reply`
   for a shop's member, `tickets.workflow.reply` for a technician.

Each outcome has a sysexits code (`Outcome.exit_code`) that an MTA understands: 0 taken
(or an automatic reply ignored), 65 data error (nothing left to say, the ticket's state
refuses a reply), 67 no such address (no or forged token), 77 not allowed (wrong
sender, out of scope), 75 try later (database unavailable).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError

from mail import replies
from tickets.pci import mask_card_numbers

logger = logging.getLogger(__name__)

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_NOPERM = 77

TOKEN_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


@dataclass
class Outcome:
    code: str  # "accepted", "ignored", "no_token", "forged", "sender", "scope", ...
    exit_code: int
    detail: str = ""
    event_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.code == "accepted"


# Text -------------------------------------------------------------------------------------

# A line that starts the quoted message: everything from it on is cut.
_QUOTE_HEADERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I),
    re.compile(r"^\s*在.{0,300}(写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}", re.I),
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|转发的邮件)\s*-{2,}"),
    re.compile(r"^\s*(From|发件人|寄件者)\s*[:：]"),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted message
]
# A line that starts the signature: everything from it on is cut.
_SIGNATURES = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*Sent from my\b", re.I),
    re.compile(r"^\s*Get Outlook for\b", re.I),
    re.compile(r"^\s*(发自我的|從我的|来自我的).{0,40}$"),
    re.compile(r"^\s*从我的.{0,40}发送\s*$"),
]


def strip_quoted(text: str) -> str:
    """The new words of a reply: quoted lines, the quoted message and the signature cut."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        # A quote header a mail program wrapped onto two lines ("On …, Alice <" / "…> wrote:").
        joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_HEADERS) or (
            line.lstrip().lower().startswith("on ") and _QUOTE_HEADERS[0].match(joined)
        ):
            break
        if any(p.match(line) for p in _SIGNATURES):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _HTMLText(HTMLParser):
    """An HTML part as plain text: block elements end lines; scripts, styles and the
    quoted message (blockquote, Gmail's and Outlook's quote containers) are left out."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul"})
    VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "col", "wbr", "source"})
    SKIP_TAGS = frozenset({"script", "style", "head", "title", "blockquote"})
    SKIP_MARKS = ("gmail_quote", "divrplyfwdmsg", "appendonsend", "moz-cite-prefix")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0  # depth inside a left-out element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            if tag == "br" and not self.skipping:
                self.parts.append("\n")
            return
        marks = " ".join((value or "") for name, value in attrs if name in ("class", "id")).lower()
        if self.skipping or tag in self.SKIP_TAGS or any(m in marks for m in self.SKIP_MARKS):
            self.skipping += 1
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if self.skipping:
            self.skipping -= 1
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return part.get_content()
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(part.get_content())
    return ""


def attachments(message: EmailMessage) -> list[SimpleUploadedFile]:
    """The files sent along: parts with a file name, except inline images the HTML part
    shows (a signature's logo has a Content-ID and is not what the person attached)."""
    files = []
    for part in message.iter_attachments():
        name = part.get_filename()
        if not name:
            continue
        if part.get_content_disposition() == "inline" and part.get("Content-ID"):
            continue
        payload = part.get_payload(decode=True) or b""
        files.append(SimpleUploadedFile(name, payload, part.get_content_type()))
    return files


# Receiving --------------------------------------------------------------------------------


def _refuse(code: str, exit_code: int, detail: str, message: EmailMessage | None) -> Outcome:
    sender = parseaddr(str(message.get("From", ""))) if message is not None else ("", "")
    logger.warning(
        "mail.inbound: refused (%s): %s; from %s, Message-ID %s",
        code,
        detail,
        sender[1] or "?",
        (message.get("Message-ID") if message is not None else None) or "?",
    )
    return Outcome(code, exit_code, detail)


def _automatic(message: EmailMessage) -> bool:
    """An out-of-office or a bounce: never a reply to land on a ticket."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto not in ("", "no")
        or precedence in ("bulk", "auto_reply", "junk", "list")
        or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
    )


def receive(raw: bytes) -> Outcome:
    """Land one raw message as a reply, or refuse it (logged). Never raises for bad mail."""
    if len(raw) > settings.MAIL_INBOUND_MAX_BYTES:
        return _refuse("too_large", EX_DATAERR, f"{len(raw)} bytes", None)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # noqa: BLE001 - any parse error is the sender's, not ours
        return _refuse("unreadable", EX_DATAERR, f"{type(error).__name__}", None)
    if _automatic(message):
        logger.info("mail.inbound: automatic reply ignored (%s)", message.get("Message-ID"))
        return Outcome("ignored", EX_OK, "automatic reply")
    headers = " ".join(str(value) for name in TOKEN_HEADERS for value in message.get_all(name, []))
    token, refused = replies.find(headers)
    if token is None:
        if refused:
            return _refuse("forged", EX_NOUSER, f"unknown or forged address {refused}", message)
        return _refuse("no_token", EX_NOUSER, "no reply address of PosDesk", message)
    try:
        return _land(message, token)
    except DatabaseError as error:
        logger.exception("mail.inbound: database unavailable")
        return Outcome("unavailable", EX_TEMPFAIL, type(error).__name__)


def _land(message: EmailMessage, token: replies.Token) -> Outcome:
    from portal.models import User
    from tickets import services, uploads, workflow
    from tickets.models import Ticket

    user = User.objects.filter(pk=token.user_id, is_active=True).first()
    ticket = Ticket.objects.select_related("queue").filter(pk=token.ticket_id).first()
    if user is None or ticket is None:
        return _refuse("gone", EX_NOUSER, f"user {token.user_id} or ticket gone", message)
    senders = {address.lower() for _name, address in getaddresses(message.get_all("From", []))}
    if not user.email or senders != {user.email.lower()}:
        return _refuse("sender", EX_NOPERM, f"From is not the address of user {user.pk}", message)
    role = workflow.role_for(ticket, user)
    if role not in (workflow.MERCHANT, workflow.TECHNICIAN):
        return _refuse(
            "scope", EX_NOPERM, f"ticket {ticket.reference} out of user {user.pk}'s scope", message
        )

    text, cut = mask_card_numbers(strip_quoted(body_text(message)))
    data: dict = {"via": "email"}
    if cut:
        data["card_numbers_cut"] = cut
    kept, refused = [], []
    for upload in attachments(message):
        if role == workflow.TECHNICIAN or len(kept) >= uploads.MAX_FILES:
            refused.append(uploads.display_name(upload.name or ""))
            continue
        try:
            kept.append(uploads.check_upload(upload))
        except ValidationError:
            refused.append(uploads.display_name(upload.name or ""))
    if refused:
        # A file's name may hold a card number too (a phone names a photo after it).
        data["attachments_refused"] = [mask_card_numbers(name)[0] for name in refused]
    try:
        if role == workflow.MERCHANT:
            event = services.merchant_reply(
                ticket=ticket, user=user, body=text, files=kept, data=data
            )
        else:
            event = workflow.reply(ticket, user, text, data=data)
    except workflow.NotAllowed as error:
        return _refuse("refused", EX_DATAERR, str(error), message)
    logger.info(
        "mail.inbound: reply by user %s on %s (event %s)", user.pk, ticket.reference, event.pk
    )
    return Outcome("accepted", EX_OK, ticket.reference, event_id=event.pk)
