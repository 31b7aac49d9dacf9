"""Find PosDesk's own English in a page or an e-mail rendered in Chinese.

Everything a person reads is collected: text nodes, and the attributes a screen reader,
a form or a script shows (placeholder, title, aria-label, alt, a button's value, the
messages `ticket-new.js` shows). In the Chinese render, any English word left in such a
text is a finding, whether the whole text stayed English ("Switch") or only a piece
of it did ("工单 PD-000001 有新动态：Routed。"), unless the word is

- data: a value people entered (names, serials, references, what a person typed), as
  the test's allow-list has it, removed whole before words are looked for;
- an address: a URL or an e-mail address;
- a canned reply's placeholder in braces ("{merchant}"), written the same in any language;
- one of TERMS, the few Latin words our Chinese catalogue itself uses (file formats,
  units, PosDesk's name);
- a language's name in that language inside an element that says so with `lang`
  (the language switch offers "English" to a Chinese reader, as it should).

The English render of the same data is collected too: the report names, for a text
that is identical in both, that it was not translated at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

READ_ATTRIBUTES = (
    "placeholder",
    "title",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "alt",
    "label",  # <option label> / <optgroup label>
    # Shown by static/js/ticket-new.js when the chosen files are too many or too large.
    "data-too-many",
    "data-too-large",
)
BUTTON_INPUTS = {"submit", "button", "reset"}
SKIPPED_TAGS = {"script", "style"}
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# A word: two letters or more, with inner apostrophes and hyphens ("provider's", "Wi-Fi").
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
URL = re.compile(r"\bhttps?://\S+")
EMAIL_ADDRESS = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# The canned replies' placeholders (tickets.canned.PLACEHOLDERS): typed as they are
# written in every language, so the Chinese help names them in Latin letters too.
PLACEHOLDER_NAMES = ("merchant", "reference", "hotline", "technician")
PLACEHOLDER = re.compile(r"\{(?:" + "|".join(PLACEHOLDER_NAMES) + r")\}")
# Latin words the Chinese catalogue itself writes: formats, units, names (see the
# msgstrs of locale/zh_Hans). Nothing here is a word of English prose.
TERMS = frozenset(
    {
        "PosDesk",
        "POS",
        "App",
        "CSV",
        "XLSX",
        "Excel",
        "UTF",
        "PDF",
        "JPEG",
        "PNG",
        "WebP",
        "GIF",
        "HEIC",
        "MB",
        "KB",
        "SLA",
        "Wi-Fi",
        "SIM",
        "Cookie",
        "PCI",
        "DSS",
        "YYYY-MM-DD",
    }
)


@dataclass(frozen=True)
class Text:
    """One thing a person reads, and the language its element declares (`lang`)."""

    text: str
    lang: str


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[Text] = []
        self.html_lang = ""
        # Open elements: (tag, skipped, lang), where `skipped` is whether it or an element
        # around it is skipped and `lang` the innermost `lang` declared on it or around it
        # ("" if none): worked out once when it opens, not again for each text inside.
        self.stack: list[tuple[str, bool, str]] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    @property
    def lang(self) -> str:
        return (self.stack[-1][2] if self.stack else "") or self.html_lang

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.html_lang = values.get("lang", "")
            return
        lang = values.get("lang", "")
        if tag not in VOID_TAGS:
            skipped = tag in SKIPPED_TAGS or self.skipping
            around = self.stack[-1][2] if self.stack else ""
            self.stack.append((tag, skipped, lang or around))
        if self.skipping:
            return
        here = lang or self.lang
        for name in READ_ATTRIBUTES:
            if values.get(name, "").strip():
                self._add(values[name], here)
        if tag == "input" and values.get("type") in BUTTON_INPUTS and values.get("value"):
            self._add(values["value"], here)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching element (HTML lets some end tags be left out).
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._add(data, self.lang)

    def _add(self, text: str, lang: str) -> None:
        text = " ".join(text.split())
        if text:
            self.texts.append(Text(text, lang))


def html_texts(html: str) -> tuple[str, list[Text]]:
    """The page's language (`<html lang>`) and every text a person reads on it."""
    parser = _Texts()
    parser.feed(html)
    parser.close()
    return parser.html_lang, parser.texts


def plain_texts(text: str, lang: str) -> list[Text]:
    """A plain-text e-mail (or a subject): one text per line."""
    return [Text(" ".join(line.split()), lang) for line in text.splitlines() if line.strip()]


class AllowList:
    """The allow-list as `english_words` uses it (see `prepare`): each value longest
    first, with its case-folded form and its pattern worked out once for every text, and
    the words found in each text kept, since the same texts (a page's menu, its footer,
    an e-mail's greeting) are read again and again against the same data."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.folded = [value.casefold() for value in values]
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._words: dict[str, list[str]] = {}

    def pattern(self, value: str) -> re.Pattern[str]:
        """Whole values only: a user called "admin" does not hide "administrator".
        In any case: a serial typed "sn1" is shown "SN1"."""
        pattern = self._patterns.get(value)
        if pattern is None:
            pattern = re.compile(rf"(?<![A-Za-z]){re.escape(value)}(?![A-Za-z])", re.IGNORECASE)
            self._patterns[value] = pattern
        return pattern

    def words(self, text: str) -> list[str]:
        words = self._words.get(text)
        if words is None:
            words = [word for word in WORD.findall(_without(text, self)) if word not in TERMS]
            self._words[text] = words
        return list(words)


def _without(text: str, allowed: AllowList) -> str:
    text = URL.sub(" ", text)
    text = EMAIL_ADDRESS.sub(" ", text)
    folded = text.casefold()
    for value, folded_value in zip(allowed.values, allowed.folded, strict=True):
        if folded_value in folded:
            text = allowed.pattern(value).sub(" ", text)
            folded = text.casefold()
    # After the data: a reply typed with its placeholders is taken out whole first.
    return PLACEHOLDER.sub(" ", text)


def english_words(text: str, data: AllowList) -> list[str]:
    """The English words of `text` once data, addresses and TERMS are taken out.
    `data` as `prepare` makes it."""
    return data.words(text)


# The allow-lists made last, by their data: a test compares many pages or e-mails
# against the same data.
_PREPARED: dict[frozenset[object], AllowList] = {}
_PREPARED_AT_MOST = 16


def prepare(data: set[str]) -> AllowList:
    """The allow-list as `english_words` uses it: each value and each of its lines,
    longest first (a longer value is taken out before a shorter one inside it)."""
    key = frozenset(data)
    allowed = _PREPARED.get(key)
    if allowed is not None:
        return allowed
    values = set()
    for value in data:
        value = str(value).strip()
        if value:
            values.add(" ".join(value.split()))
            values.update(" ".join(line.split()) for line in value.splitlines() if line.strip())
    allowed = AllowList(sorted(values, key=len, reverse=True))
    if len(_PREPARED) >= _PREPARED_AT_MOST:
        _PREPARED.clear()
    _PREPARED[key] = allowed
    return allowed


def is_chinese(lang: str) -> bool:
    return lang.lower().startswith("zh")


def english_left(
    english: list[Text],
    chinese: list[Text],
    data: set[str],
    *,
    own_names: frozenset[str] = frozenset(),
) -> list[str]:
    """Findings on the Chinese render: each text holding English that is not allowed,
    marked "(untranslated)" when the English render has the very same text.

    `own_names`: languages' names in their own language ("English"), allowed inside an
    element whose `lang` declares that language."""
    values = prepare(data)
    in_english = {item.text for item in english}
    found = []
    for item in chinese:
        if item.lang and not is_chinese(item.lang) and item.text in own_names:
            continue
        words = english_words(item.text, values)
        if words:
            same = " (untranslated)" if item.text in in_english else ""
            found.append(f"{item.text!r}{same}: {' '.join(dict.fromkeys(words))}")
    return sorted(set(found))


def compare_html(
    english_html: str,
    chinese_html: str,
    data: set[str],
    *,
    own_names: frozenset[str] = frozenset(),
) -> list[str]:
    """Findings for one page or HTML e-mail rendered in both languages."""
    english_lang, english = html_texts(english_html)
    chinese_lang, chinese = html_texts(chinese_html)
    found = english_left(english, chinese, data, own_names=own_names)
    if not is_chinese(chinese_lang):
        found.insert(0, f"<html lang={chinese_lang!r}> on the Chinese render")
    return found


def compare_plain(english_text: str, chinese_text: str, data: set[str]) -> list[str]:
    """Findings for a plain-text e-mail body or a subject rendered in both languages."""
    return english_left(plain_texts(english_text, "en"), plain_texts(chinese_text, "zh-hans"), data)
