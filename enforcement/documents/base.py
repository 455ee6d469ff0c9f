"""Shared layout of official enforcement documents: Jinja2 HTML templates rendered by WeasyPrint.

Why WeasyPrint (HTML + CSS) rather than ReportLab
-----------------------------------------------
* Fonts: WeasyPrint finds fonts through fontconfig and shapes text with Pango/HarfBuzz, so the
  Debian package ``fonts-noto-cjk`` (Noto Serif CJK SC, CFF-flavoured OpenType) is used and
  embedded as a subset.  ReportLab's ``TTFont`` cannot read CFF outlines; it would need a
  second, TrueType-only CJK font (``fonts-wqy-zenhei``) and gives no shaping.
* Layout: paged-media CSS does what official documents need with little code: running header
  and footer on every page (issuing authority, 文书编号, 第 x 页 共 y 页, generation time),
  bordered tables whose rows never split across pages and whose header row repeats, line
  breaking of Chinese text, signature blocks kept on one page.  The later documents (移送书,
  调查报告) are one more template each that ``{% extends "base.html" %}``.
* Reproducible bytes: with the creation date taken from :class:`DocumentMeta` and fonts subset
  by HarfBuzz (Debian ``libharfbuzz-subset0``), the same input gives the same PDF bytes, so the
  document's SHA-256 can be listed in audit records and checked by rendering again.  The
  fallback subsetter (fontTools, used when libharfbuzz-subset is missing) stamps the current
  time into each embedded font, which breaks this.  The bytes also depend on the WeasyPrint,
  Pango and font versions (the PDF's Producer names WeasyPrint's version).

Security: documents render from our templates only.  All data goes through Jinja2
autoescaping, images are inlined as ``data:`` URIs, and the URL fetcher refuses every other
scheme (no file or network access while rendering) and fails the rendering rather than
silently dropping an image.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from PIL import ImageFile
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from enforcement.documents.fields import require_aware, require_text

# Importing WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES process-wide; put Pillow's default
# back so truncated uploads are still rejected everywhere else in the process.  Our own images
# are checked whole (fields.require_png) before they reach WeasyPrint.
ImageFile.LOAD_TRUNCATED_IMAGES = False

__all__ = [
    "DEFAULT_FONTS",
    "SHANGHAI",
    "SUPPORTED_LOCALES",
    "DocumentFonts",
    "DocumentMeta",
    "FontNotInstalledError",
    "cn_date",
    "cn_datetime",
    "local_datetime",
    "png_data_uri",
    "render_html",
    "render_pdf",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")  # people read Beijing time; inputs may carry any offset
SUPPORTED_LOCALES = ("zh_CN",)  # official documents are issued in Chinese
TEMPLATES = Path(__file__).resolve().parent / "templates"


class FontNotInstalledError(RuntimeError):
    """A font family of the document layout is not installed (fontconfig substituted it)."""


@dataclass(frozen=True)
class DocumentFonts:
    """fontconfig family names of the layout."""

    # All text in one Song-style face (regular and bold), as official documents use.  Each CJK
    # face costs ~145 KB per PDF (WeasyPrint keeps glyph ids, so subsets stay large), hence no
    # sans face for headers and labels.
    serif: str = "Noto Serif CJK SC"  # Debian fonts-noto-cjk
    # Hashes and codes (ASCII): fixed width keeps a 64-digit SHA-256 on one line.  DejaVu
    # (Debian fonts-dejavu-core) embeds in ~10 KB where Noto Sans Mono CJK costs ~120 KB;
    # anything non-ASCII in such a field falls back to the serif face.
    mono: str = "DejaVu Sans Mono"
    package: str = "fonts-noto-cjk"  # named in the error when the serif family is missing


DEFAULT_FONTS = DocumentFonts()


@dataclass(frozen=True)
class DocumentMeta:
    """What every document shows in its header and footer and writes into the PDF metadata."""

    title: str  # e.g. 现场检查笔录; also the PDF Title (with the document number)
    authority: str  # issuing authority, e.g. 杭州市西湖区市场监督管理局
    document_number: str  # 文书编号
    generated_at: datetime  # aware; footer shows it in Asia/Shanghai, PDF CreationDate
    keywords: tuple[str, ...] = ()  # PDF Keywords, e.g. the inspection id

    def __post_init__(self) -> None:
        require_text("DocumentMeta.title", self.title)
        require_text("DocumentMeta.authority", self.authority)
        require_text("DocumentMeta.document_number", self.document_number)
        require_aware("DocumentMeta.generated_at", self.generated_at)


# ------------------------------------------------------------------------------- formatting


def local_datetime(value: datetime) -> str:
    """``2025-03-04 10:50:07`` in Asia/Shanghai (tables, footer)."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def cn_datetime(value: datetime) -> str:
    """``2025年3月4日9时05分`` in Asia/Shanghai, the usual form in enforcement documents."""
    local = value.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日{local.hour}时{local.minute:02d}分"


def cn_date(value: datetime) -> str:
    local = value.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _paragraphs(text: str) -> list[str]:
    """Non-blank lines of a free-text field, one paragraph each."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _thousands(value: int) -> str:
    return f"{value:,}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML; data never becomes markup
        undefined=jinja2.StrictUndefined,  # a typo in a template fails, not prints nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=cn_date,
        cn_datetime=cn_datetime,
        local_datetime=local_datetime,
        png_data_uri=png_data_uri,
        paragraphs=_paragraphs,
        thousands=_thousands,
    )
    return env


# -------------------------------------------------------------------------------- rendering


def render_html(
    template: str,
    meta: DocumentMeta,
    context: Mapping[str, Any],
    *,
    locale: str = "zh_CN",
    fonts: DocumentFonts = DEFAULT_FONTS,
) -> str:
    """The document's HTML (useful to debug a template; :func:`render_pdf` prints it)."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"locale: must be one of {', '.join(SUPPORTED_LOCALES)}, got {locale!r}")
    return (
        _environment()
        .get_template(template)
        .render(
            **context,
            meta=meta,
            fonts=fonts,
            lang=locale.replace("_", "-"),  # zh-CN makes Pango pick simplified-Chinese glyphs
            generated_at_utc=meta.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )


def render_pdf(
    template: str,
    meta: DocumentMeta,
    context: Mapping[str, Any],
    *,
    locale: str = "zh_CN",
    fonts: DocumentFonts = DEFAULT_FONTS,
) -> bytes:
    """Render ``template`` (which extends ``base.html``) to PDF bytes.

    Raises :class:`FontNotInstalledError` when the body font family was not used because
    fontconfig does not have it: a document in a substitute font (or with empty boxes for every
    Chinese character) must not be issued.
    """
    html = render_html(template, meta, context, locale=locale, fonts=fonts)
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    document = HTML(string=html, url_fetcher=fetcher).render()
    pdf = document.write_pdf(pdf_identifier=True)  # /ID = MD5 of the content: reproducible
    used = {font.family for font in document.fonts.values()}
    if fonts.serif not in used:  # every document has body text
        raise FontNotInstalledError(
            f"font family {fonts.serif!r} is not installed (fonts used instead: "
            f"{', '.join(sorted(used)) or 'none'}); install the Debian package {fonts.package}"
        )
    return pdf
