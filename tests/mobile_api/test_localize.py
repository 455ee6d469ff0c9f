"""The web edge shows the services' reasons in the reader's language (mobile_api.i18n)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyramid import testing
from pyramid.i18n import Localizer, make_localizer
from pyramid.renderers import render
from pyramid.threadlocal import manager

import mobile_api
from enforcement.reasons import reason
from mobile_api.i18n import localize

LOCALE_DIR = str(Path(mobile_api.__file__).parent / "locale")


def _request(locale: str) -> testing.DummyRequest:
    request = testing.DummyRequest()
    request.localizer = make_localizer(locale, [LOCALE_DIR])
    return request


@pytest.mark.parametrize(
    ("locale", "expected"), [("zh_CN", "最多 200 个字符。"), ("en", "At most 200 characters.")]
)
def test_a_reason_is_translated_with_its_values(locale: str, expected: str) -> None:
    assert localize(_request(locale), reason("At most ${n} characters.", n=200)) == expected


def test_a_reason_inside_a_reason_is_translated_too() -> None:
    inner = reason("Some fields are not valid.")
    outer = reason("At most ${n} characters.", n=inner)
    assert localize(_request("zh_CN"), outer) == "最多 部分字段无效。 个字符。"


def test_an_untranslated_reason_and_plain_text_come_out_as_they_are() -> None:
    request = _request("zh_CN")
    assert localize(request, reason("no such ${thing}", thing="plan")) == "no such plan"
    assert localize(request, "plain") == "plain"
    assert localize(request, None) is None


def test_templates_print_reasons_translated(web_app) -> None:  # type: ignore[no-untyped-def]
    """Jinja's finalize and the templates' _() both translate a service's reason."""
    request = _request("zh_CN")
    request.registry = web_app.registry
    why = reason("At most ${n} characters.", n=5)
    # The app's registry is shared by the module's tests: pushed, never torn down
    # (pyramid.testing.tearDown would wipe it).
    manager.push({"registry": web_app.registry, "request": request})
    try:
        assert isinstance(request.localizer, Localizer)
        html = render(
            "tests:mobile_api/templates/reason_probe.jinja2", {"why": why}, request=request
        )
    finally:
        manager.pop()
    assert html.split() == ["最多", "5", "个字符。", "最多", "5", "个字符。"]
