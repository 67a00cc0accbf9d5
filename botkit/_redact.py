"""URLs as they may be shown: credentials and tokens in them replaced by ``***``.

A URL can carry a secret (``wss://user:password@host``, ``?listenKey=...``, ``?token=...``,
Binance's user-data stream ``/ws/<listenKey>``). Every URL botkit logs, reports, raises
or records goes through :func:`redact_url`; the real one is used only to connect.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redact_url"]

_HIDDEN = "***"
#: Query parameters whose value is a secret (compared in lower case, without - and _).
_SECRET_PARAMS = frozenset({
    "listenkey", "token", "accesstoken", "authtoken", "auth", "authorization", "key", "apikey", "secret",
    "apisecret", "signature", "sig", "password", "passwd", "pass", "passphrase", "session", "sessionid", "jwt",
})
# A path segment this long and opaque is a key (Binance's listenKey is 60 characters).
_OPAQUE_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{32,}")


def redact_url(url: str) -> str:
    """``url`` with any password, secret query values and key-like path segments hidden.

    Example::

        >>> redact_url("wss://bob:hunter2@example.com/ws/abc?listenKey=XYZ&symbol=BTCUSDT")
        'wss://bob:***@example.com/ws/abc?listenKey=***&symbol=BTCUSDT'
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return _HIDDEN  # unparseable: nothing of it can be shown safely
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{_HIDDEN}@{host}" if colon else f"{_HIDDEN}@{host}"
    path = "/".join(_HIDDEN if _OPAQUE_SEGMENT.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, _HIDDEN if _secret(k) else v) for k, v in pairs], safe="*@/,")
    return urlunsplit((parts.scheme, netloc, path, query, "" if parts.fragment == "" else _HIDDEN))


def _secret(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") in _SECRET_PARAMS
