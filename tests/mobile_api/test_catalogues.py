"""The gettext catalogues: complete in Chinese, current with the sources, compiled."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import enforcement
import mobile_api

PACKAGE = Path(mobile_api.__file__).parent
LOCALE_DIR = PACKAGE / "locale"
#: Where translatable strings live: the pages' _() and the services' reason() (Makefile, messages).
SOURCES = (PACKAGE, Path(enforcement.__file__).parent)
KEYWORDS = {**DEFAULT_KEYWORDS, "reason": None}
PLACEHOLDERS = re.compile(r"%\(\w+\)s|\$\{\w+\}")


def _catalog(path: Path, locale: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {message.id for message in catalog if message.id}


def test_template_lists_exactly_the_messages_in_the_sources() -> None:
    with (LOCALE_DIR / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    extracted = {
        message
        for source in SOURCES
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(source), method_map, options_map, keywords=KEYWORDS
        )
    }
    assert extracted == _ids(_catalog(LOCALE_DIR / "suijian.pot")), (
        "suijian.pot is out of date: see docs/operations.md, Translations"
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalogue_is_current_and_compiled(locale: str) -> None:
    po = _catalog(LOCALE_DIR / locale / "LC_MESSAGES" / "suijian.po", locale)
    assert _ids(po) == _ids(_catalog(LOCALE_DIR / "suijian.pot"))
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "suijian.mo").open("rb") as handle:
        mo = gettext.GNUTranslations(handle)
    for message in po:
        if message.id and message.string:
            assert mo.gettext(message.id) == message.string, f"{locale}.mo is stale"


def test_chinese_translates_everything_with_the_same_placeholders() -> None:
    po = _catalog(LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "suijian.po", "zh_CN")
    for message in po:
        if not message.id:
            continue
        assert message.string, f"no Chinese for {message.id!r}"
        assert not message.fuzzy, f"fuzzy translation for {message.id!r}"
        assert sorted(PLACEHOLDERS.findall(message.id)) == sorted(
            PLACEHOLDERS.findall(message.string)
        ), message.id
