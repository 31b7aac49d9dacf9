"""Simplified Chinese: the browser's Accept-Language picks it, and the committed .mo is current.

The compiled catalogue is committed so running PosDesk needs no gettext; the
last test catches a .po edited without recompiling.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import queued_ticket

CATALOGUE = Path(__file__).resolve().parent.parent.parent / "locale/zh_Hans/LC_MESSAGES"


def test_the_login_page_speaks_chinese_to_a_chinese_browser(client) -> None:
    response = client.get(reverse("login"), headers={"accept-language": "zh-hans"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "登录 PosDesk" in page
    assert '<html lang="zh-hans">' in page


def test_the_login_page_stays_english_by_default(client) -> None:
    response = client.get(reverse("login"))
    assert "Log in to PosDesk" in response.content.decode()


def test_a_merchant_sees_the_navigation_in_chinese(world, as_user) -> None:
    response = as_user(world.alice).get(
        reverse("devices:list"), headers={"accept-language": "zh-CN,zh;q=0.9"}
    )
    page = response.content.decode()
    assert "我的终端" in page
    assert "报修" in page
    assert "退出登录" in page


@pytest.mark.parametrize(
    ("who", "url_name", "needs"),
    [
        ("alice", "devices:list", None),
        ("alice", "devices:new", None),
        ("alice", "devices:import", None),
        ("alice", "devices:detail", "device"),
        ("alice", "tickets:list", None),
        ("alice", "tickets:new", None),
        ("alice", "tickets:detail", "ticket"),
        ("xavier", "tickets:work", None),
        ("xavier", "tickets:work_ticket", "ticket"),
    ],
)
def test_every_main_page_renders_in_chinese(
    world, as_user, who: str, url_name: str, needs: str | None
) -> None:
    # A translation whose placeholders differ from the original breaks the page
    # only in that language: render each one in Chinese.
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    kwargs = {
        None: {},
        "device": {"pk": world.device_a.pk},
        "ticket": {"reference": ticket.reference},
    }[needs]
    response = as_user(getattr(world, who)).get(
        reverse(url_name, kwargs=kwargs), headers={"accept-language": "zh-hans"}
    )
    assert response.status_code == 200
    assert "退出登录" in response.content.decode()


def po_translations(path: Path) -> dict[str, tuple[str, str | None]]:
    """msgid -> (first msgstr, msgid_plural) of every translated, non-fuzzy entry."""
    found = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if re.search(r"^#,.*\bfuzzy\b", block, re.MULTILINE):
            continue
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(
                r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[0\])?|msgstr\[\d+\]) (\".*\")$", line
            )
            if match:
                current = match[1]
                fields[current] = ast.literal_eval(match[2])
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        msgid = fields.get("msgid")
        msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
        if msgid and msgstr and "msgctxt" not in fields:
            found[msgid] = (msgstr, fields.get("msgid_plural"))
    return found


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    source = po_translations(CATALOGUE / "django.po")
    assert len(source) >= 100
    with (CATALOGUE / "django.mo").open("rb") as compiled_file:
        compiled = gettext.GNUTranslations(compiled_file)
    stale = {
        msgid
        for msgid, (msgstr, plural) in source.items()
        if (compiled.ngettext(msgid, plural, 1) if plural else compiled.gettext(msgid)) != msgstr
    }
    assert not stale, f"run compilemessages: {sorted(stale)[:5]}"
