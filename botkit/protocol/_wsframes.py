"""WebSocket framing (RFC 6455 section 5), sans-IO: bytes in, messages and control frames out.

Reading is ours because it is the live hot path: wsproto's reader builds an event object
per frame and a message object per message, about 5.7 us for a small trade frame
(measured), several times the cost of parsing the trade inside it. This reader takes an
unfragmented data frame from a server in a few slice operations and keeps everything
else (fragments, control frames, masked frames from clients, every protocol check) on
a general path. Writing, rare on the client (subscribe, pong, close; masked), is
wsproto's; a server's data frame is a header and the payload (:func:`text_frame`, what
the simulator sends by the hundred thousand per second).
"""

from __future__ import annotations

from . import _compiled

__all__ = [
    "CLOSE", "MAX_MESSAGE", "PING", "PONG", "FrameError", "FrameReader", "close_payload", "split_frames", "text_frame",
]

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
#: Largest message accepted (Binance's largest depth snapshot is about 0.2 MB).
MAX_MESSAGE = 16 * 2**20
_PROTOCOL_ERROR, _INVALID_PAYLOAD, _TOO_BIG = 1002, 1007, 1009
_NO_STATUS = 1005
# First byte of an unfragmented text / binary frame; second byte of a short unmasked one.
_FIN_TEXT, _FIN_BINARY, _SHORT = 0x81, 0x82, 126
_SPLIT_PIECES = 64 * 1024  # frames longer than this are collected piece by piece


class FrameError(Exception):
    """The peer broke the framing rules: close the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FrameReader:
    """Feed it the bytes read from the socket; it returns complete data messages (text
    and binary alike, as ``bytes``) and queues control frames in :attr:`control`.

    :param client: this end is the client, so frames must arrive unmasked (a server's
        frames must arrive masked).
    :param max_message: a longer message is a :class:`FrameError` (1009).
    """

    def __init__(self, *, client: bool = True, max_message: int = MAX_MESSAGE) -> None:
        self.client = client
        self.max_message = max_message
        #: ``(opcode, payload)`` of control frames (close, ping, pong) in arrival order;
        #: the I/O layer answers and clears them.
        self.control: list[tuple[int, bytes]] = []
        self._buf = b""
        self._parts: list[bytes] | None = None  # a fragmented message being assembled
        self._size = 0
        # A long frame arrives over many reads: its pieces are kept apart until it is
        # whole (joining them at every read would copy it over and over).
        self._pieces: list[bytes] = []
        self._have = 0
        self._need = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data`` (a partial frame waits for the rest).

        :raises FrameError: a protocol violation; the reader is unusable afterwards.
        """
        if self._need:
            self._pieces.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            buf, self._pieces, self._need = b"".join(self._pieces), [], 0
        else:
            buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        end = len(buf)
        pos = 0
        while True:
            if self.client and self._parts is None:
                pos = _split(buf, pos, out)  # the common case: whole data frames
            if end - pos < 2:
                break
            stop = self._frame(buf, pos, end, out)
            if stop < 0:
                break
            pos = stop
        self._buf = buf[pos:] if pos < end else b""
        need = _frame_length(self._buf)
        if need > _SPLIT_PIECES:
            self._pieces, self._have, self._need, self._buf = [self._buf], len(self._buf), need, b""
        return out

    def _frame(self, buf: bytes, pos: int, end: int, out: list[bytes]) -> int:
        """Any frame at ``pos``: returns the offset after it, -1 if it is incomplete."""
        b0, b1 = buf[pos], buf[pos + 1]
        opcode = b0 & 0x0F
        masked = b1 & 0x80
        n = b1 & 0x7F
        head = pos + 2
        if n >= _SHORT:
            width = 2 if n == _SHORT else 8
            if end - head < width:
                return -1
            n = int.from_bytes(buf[head : head + width], "big")
            head += width
            if n >> 63:
                raise FrameError(_PROTOCOL_ERROR, "frame length has its top bit set")
        if b0 & 0x70:
            raise FrameError(_PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)")
        if bool(masked) == self.client:
            side = "server sent a masked" if self.client else "client sent an unmasked"
            raise FrameError(_PROTOCOL_ERROR, f"{side} frame")
        if opcode >= CLOSE:
            if opcode > PONG:
                raise FrameError(_PROTOCOL_ERROR, f"unknown control opcode {opcode}")
            if not b0 & 0x80 or n > 125:
                raise FrameError(_PROTOCOL_ERROR, "control frame fragmented or longer than 125 bytes")
        elif opcode > BINARY:
            raise FrameError(_PROTOCOL_ERROR, f"unknown data opcode {opcode}")
        elif opcode == CONTINUATION and self._parts is None:
            raise FrameError(_PROTOCOL_ERROR, "continuation frame outside a fragmented message")
        elif opcode != CONTINUATION and self._parts is not None:
            raise FrameError(_PROTOCOL_ERROR, "new message inside a fragmented one")
        if opcode < CLOSE and self._size + n > self.max_message:
            raise FrameError(_TOO_BIG, f"message longer than {self.max_message} bytes")
        key = b""
        if masked:
            if end - head < 4:
                return -1
            key = buf[head : head + 4]
            head += 4
        stop = head + n
        if stop > end:
            return -1
        payload = _unmask(buf[head:stop], key) if key else buf[head:stop]
        if opcode >= CLOSE:
            self.control.append((opcode, payload))
        elif b0 & 0x80 and self._parts is None:
            out.append(payload)
        else:
            if self._parts is None:
                self._parts = []
            self._parts.append(payload)
            self._size += n
            if b0 & 0x80:
                out.append(b"".join(self._parts))
                self._parts, self._size = None, 0
        return stop


def close_payload(payload: bytes) -> tuple[int, str]:
    """``(code, reason)`` of a close frame's payload (1005 when it has none).

    :raises FrameError: a one-byte payload or a reason that is not UTF-8.
    """
    if not payload:
        return _NO_STATUS, ""
    if len(payload) == 1:
        raise FrameError(_PROTOCOL_ERROR, "close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    # RFC 6455 7.4: the defined codes that may be sent, and the ranges for libraries and
    # applications; 1005, 1006 and 1015 only ever stand for "none was received".
    if not ((1000 <= code <= 1014 and code not in (1004, 1005, 1006)) or 3000 <= code <= 4999):
        raise FrameError(_PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(_INVALID_PAYLOAD, "close reason is not UTF-8") from None
    return code, reason


def _frame_length(buf: bytes) -> int:
    """The whole length of the frame starting ``buf`` (header, key, payload), or 0 while
    its header is incomplete."""
    if len(buf) < 2:
        return 0
    n = buf[1] & 0x7F
    head = 2 + (4 if buf[1] & 0x80 else 0)
    if n == _SHORT:
        return 0 if len(buf) < 4 else head + 2 + int.from_bytes(buf[2:4], "big")
    if n == 127:
        return 0 if len(buf) < 10 else head + 8 + int.from_bytes(buf[2:10], "big")
    return head + n


def split_frames(buf: bytes, pos: int, out: list[bytes]) -> int:
    """Append the payloads of the unfragmented, unmasked text and binary frames (length
    < 64 KiB) at ``buf[pos:]`` to ``out``; returns the offset of the first frame that is
    incomplete or of another kind. (The compiled twin does the same.)"""
    end = len(buf)
    while end - pos >= 2:
        b0 = buf[pos]
        if b0 != _FIN_TEXT and b0 != _FIN_BINARY:
            break
        n = buf[pos + 1]
        if n < _SHORT:
            start = pos + 2
        elif n == _SHORT and end - pos >= 4:
            n = (buf[pos + 2] << 8) | buf[pos + 3]
            start = pos + 4
        else:
            break
        stop = start + n
        if stop > end:
            break
        out.append(buf[start:stop])
        pos = stop
    return pos


_split = _compiled.split_frames or split_frames


def text_frame(payload: bytes) -> bytes:
    """An unfragmented, unmasked text frame (a server's) holding ``payload`` (UTF-8)."""
    n = len(payload)
    if n < _SHORT:
        return bytes((_FIN_TEXT, n)) + payload
    if n < 1 << 16:
        return bytes((_FIN_TEXT, _SHORT)) + n.to_bytes(2, "big") + payload
    return bytes((_FIN_TEXT, 127)) + n.to_bytes(8, "big") + payload


def _unmask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")
