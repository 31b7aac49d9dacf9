"""What the English finder counts as PosDesk's English on a Chinese page, and what not."""

from __future__ import annotations

from tests.i18n.englishfinder import PLACEHOLDER_NAMES, compare_html, compare_plain


def _page(body: str, lang: str = "zh-hans") -> str:
    return f'<!doctype html><html lang="{lang}"><body>{body}</body></html>'


def test_a_text_left_in_english_is_found() -> None:
    found = compare_html(_page("<p>Switch</p>", "en"), _page("<p>Switch</p>"), set())
    assert found == ["'Switch' (untranslated): Switch"]


def test_english_inside_a_chinese_sentence_is_found() -> None:
    chinese = _page("<p>您的工单 PD-000001 有新进展：Routed。</p>")
    english = _page("<p>News on your ticket PD-000001: Routed.</p>", "en")
    assert compare_html(english, chinese, {"PD-000001"}) == [
        "'您的工单 PD-000001 有新进展：Routed。': Routed"
    ]


def test_what_people_entered_is_theirs() -> None:
    page = _page("<p>描述：The screen stays dark · Provider X · sn0001</p>")
    assert compare_html(page, page, {"The screen stays dark", "Provider X", "SN0001"}) == []


def test_a_name_does_not_hide_a_longer_word() -> None:
    page = _page("<p>administrator</p>")
    assert compare_html(page, page, {"admin"}) == ["'administrator' (untranslated): administrator"]


def test_readable_attributes_count_and_scripts_do_not() -> None:
    page = _page(
        '<nav aria-label="breadcrumb"></nav><input type="submit" value="Save">'
        '<input name="q" value="typed"><script>var label = "Hello";</script>'
    )
    assert compare_html(page, page, set()) == [
        "'Save' (untranslated): Save",
        "'breadcrumb' (untranslated): breadcrumb",
    ]


def test_a_language_may_be_offered_in_its_own_name() -> None:
    page = _page('<select><option lang="en">English</option></select><p lang="en">Hello</p>')
    assert compare_html(page, page, set(), own_names=frozenset({"English"})) == [
        "'Hello' (untranslated): Hello"
    ]


def test_terms_the_catalogue_keeps_are_allowed() -> None:
    page = _page("<p>上传 CSV 或 PDF（最大 10 MB），日期格式 YYYY-MM-DD，Wi-Fi 已连接。</p>")
    assert compare_html(page, page, set()) == []


def test_a_chinese_render_that_says_it_is_english_is_found() -> None:
    assert compare_html(_page("", "en"), _page("", "en"), set()) == [
        "<html lang='en'> on the Chinese render"
    ]


def test_addresses_are_not_words() -> None:
    text = "打开链接：https://posdesk.example/tickets/PD-000001/ 或回复 help@example.com"
    assert compare_plain(text, text, {"PD-000001"}) == []


def test_a_canned_replys_placeholders_are_written_as_typed() -> None:
    text = "按工单自动填入：{merchant}、{reference}、{hotline}、{technician}；merchant {shop}"
    assert compare_plain(text, text, set()) == [f"{text!r} (untranslated): merchant shop"]


def test_the_placeholders_are_the_canned_replies_own() -> None:
    from tickets.canned import PLACEHOLDERS

    assert PLACEHOLDER_NAMES == PLACEHOLDERS
