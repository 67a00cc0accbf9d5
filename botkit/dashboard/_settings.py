"""Where the dashboard listens and how it is guarded: parsed and checked before a run
starts, so a bad address or a missing token is one line, not a failure mid-run."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from collections.abc import Mapping

import attrs

from .._exceptions import ConfigError

__all__ = ["DashboardSettings", "Listener", "is_loopback", "parse_listen"]

#: A token set by the operator must be at least this long (a per-run token is 32 characters).
MIN_TOKEN = 16


@attrs.frozen
class DashboardSettings:
    """The dashboard of a run (``botkit run --dashboard [HOST:]PORT``, ``[dashboard]``).

    :param host: the address to listen on; anything but a loopback address needs
        ``token_env``.
    :param port: the TCP port (0: a free one, said in the start line).
    :param token_env: the environment variable holding the access token (at least 16
        characters); None: a random token made for this run.
    :param updates_per_s: how often the state is published to the page (bounded, never
        per event).
    """

    host: str = "127.0.0.1"
    port: int = attrs.field(default=8080, validator=[attrs.validators.ge(0), attrs.validators.le(65_535)])
    token_env: str | None = None
    updates_per_s: float = attrs.field(default=4.0, validator=[attrs.validators.gt(0), attrs.validators.le(20)])


def parse_listen(text: str, what: str = "--dashboard") -> tuple[str, int]:
    """``"8080"``, ``"0.0.0.0:8080"``, ``"[::1]:8080"`` -> (host, port); host defaults to 127.0.0.1.

    :raises ConfigError: not a port, or a port out of range.
    """
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65_535:
        raise ConfigError(f"{what} {text!r}: expected [HOST:]PORT with a port from 0 to 65535, e.g. 8080 or "
                          "127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


@attrs.frozen(repr=False)
class Listener:
    """A bound, listening socket and the token that guards it (never in its repr).

    :ivar explicit_token: the token came from the operator (``token_env``), so the start
        line does not print it.
    """

    sock: socket.socket
    token: str
    explicit_token: bool
    token_env: str | None
    host: str
    port: int

    @classmethod
    def open(cls, settings: DashboardSettings, environ: Mapping[str, str] = os.environ) -> Listener:
        """Check the settings, bind and listen.

        :raises ConfigError: no token for a non-loopback address, an unset or short
            token variable, an address that cannot be bound.
        """
        where = f"{settings.host}:{settings.port}"
        if settings.token_env:
            token = environ.get(settings.token_env, "")
            if not token:
                raise ConfigError(f"dashboard: the token variable {settings.token_env} is not set (or empty)")
            if len(token) < MIN_TOKEN:
                raise ConfigError(f"dashboard: the token in {settings.token_env} is {len(token)} characters; use at "
                                  f"least {MIN_TOKEN} (python -c 'import secrets; print(secrets.token_urlsafe())')")
        elif not is_loopback(settings.host):
            raise ConfigError(f"--dashboard {where}: serving beyond this machine needs a token you set: put it in an "
                              "environment variable and name it with --dashboard-token-env NAME (or [dashboard] "
                              "token_env); a random token is made only for a loopback address such as 127.0.0.1")
        else:
            token = secrets.token_urlsafe(24)
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((settings.host, settings.port))
            sock.listen(128)
        except (OSError, OverflowError) as exc:
            sock.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigError(f"--dashboard {where}: cannot listen there: {reason}") from None
        sock.setblocking(False)
        host, port = sock.getsockname()[:2]
        return cls(sock, token, bool(settings.token_env), settings.token_env, str(host), int(port))

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start_line(self) -> str:
        """What the run says at its start: the URL to open (with a per-run token; a
        token the operator set is named, not shown)."""
        if self.explicit_token:
            return f"botkit: dashboard on {self.base_url}?token=${self.token_env} (the token in {self.token_env})"
        return f"botkit: dashboard on {self.base_url}?token={self.token}"

    def accepts(self, given: str) -> bool:
        """Whether ``given`` is the token (compared in constant time)."""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def __repr__(self) -> str:
        return f"Listener({self.base_url})"
