"""Printing URLs that may carry a password (state store, Chroma server): the password never shows."""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@ as SQLAlchemy reads it: the user has no ':' or '/', the password runs to the first '@'
# (so it may hold '/', '#' or '?', which urllib would take for the start of a path, fragment or query).
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://[^:/@]*:)(?P<password>[^@]*)@(?P<rest>.*)$", re.S)


def url_password(value: str) -> str | None:
    """The password in `value` (None when there is none), read the way mask_url reads it."""
    m = _USERINFO.match(value or "")
    if not m:
        return None
    password, rest = m["password"], m["rest"]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in host:  # an unencoded '@' in the password: the host starts after the last one
        password += "@" + host.rsplit("@", 1)[0]
    return password or None


def mask_url(value: str) -> str:
    """`scheme://user:secret@host/...` -> `scheme://user:***@host/...`; other strings unchanged."""
    password = url_password(value)
    if password is None:
        return value
    m = _USERINFO.match(value)
    assert m is not None
    return m["head"] + MASK + "@" + value[len(m["head"]) + len(password) + 1:]
