"""Reasons the services give people, in English, translatable where they are shown.

A service that refuses something says why with ``reason("the task is ${status}", status=...)``.
The result is a ``str``: the English text with the values filled in, so logs, the command line
and tests read it as it is. It also keeps its message id (the text before filling in, which is
what the gettext catalogue holds) and its values, so the web layer can show it in the reader's
language (``mobile_api.i18n.localize``). ``reason`` is a keyword of the catalogue extraction
(``mobile_api/locale/babel.cfg``), so every reason written this way reaches the translators.

Placeholders are ``${name}``, as in Pyramid's translation strings; a value that is itself a
reason (a state's name, say) is translated too.
"""

from __future__ import annotations

from string import Template
from typing import Any


class Reason(str):
    """English text that remembers its message id and values."""

    msgid: str
    mapping: dict[str, Any]

    def __new__(cls, msgid: str, /, **mapping: Any) -> Reason:
        text = Template(msgid).safe_substitute({k: str(v) for k, v in mapping.items()})
        self = super().__new__(cls, text)
        self.msgid = msgid
        self.mapping = mapping
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (and copies) as a reason, not plain text
        return (_rebuild, (self.msgid, self.mapping))


def _rebuild(msgid: str, mapping: dict[str, Any]) -> Reason:
    return Reason(msgid, **mapping)


#: The name the extraction looks for: ``reason("...")`` marks a translatable message.
reason = Reason


def reason_of(exc: BaseException) -> str:
    """The exception's message, as the reason it was raised with when there is one."""
    for arg in exc.args:
        if isinstance(arg, Reason):
            return arg
    return str(exc)


def reason_document(text: str) -> dict[str, Any] | None:
    """A reason as JSON (message id and values; values that are reasons, too), to store it
    where it is read back later, in a language not known yet; None for plain text."""
    if not isinstance(text, Reason):
        return None
    mapping: dict[str, Any] = {}
    for key, value in text.mapping.items():
        nested = reason_document(value) if isinstance(value, str) else None
        mapping[key] = nested if nested is not None else str(value)
    return {"msgid": text.msgid, "mapping": mapping}


def reason_from_document(document: Any, text: str) -> str:
    """The reason ``reason_document`` stored, translatable again; ``text`` when there is none
    (or it is not one: a stored document is data, checked before use)."""
    if not isinstance(document, dict) or not isinstance(document.get("msgid"), str):
        return text
    if not document["msgid"]:
        return text
    raw = document.get("mapping")
    mapping = {
        str(key): reason_from_document(value, "") if isinstance(value, dict) else str(value)
        for key, value in (raw.items() if isinstance(raw, dict) else ())
    }
    return Reason(document["msgid"], **mapping)
