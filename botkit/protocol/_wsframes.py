"""WebSocket framing (RFC 6455 section 5), sans-IO: bytes in, messages and control frames out.

Reading is ours because it is the live hot path: wsproto's reader builds an event object
per frame and a message object per message, several times the cost of parsing the trade
inside it (docs/live-feed.md has the figures). This reader takes an unfragmented data
frame from a server in a few slice operations and keeps everything
else (fragments, control frames, masked frames from clients, every protocol check) on
a general path. Writing, rare on the client (subscribe, pong, close; masked), is
wsproto's; a server's data frame is a header and the payload (:func:`text_frame`, what
the simulator sends by the hundred thousand per second).
"""

from __future__ import annotations

import codecs
import zlib

from . import _compiled

__all__ = [
    "CLOSE", "MAX_MESSAGE", "PING", "PONG", "BinaryMessage", "FrameError", "FrameReader", "close_payload",
    "split_frames", "text_frame",
]

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
#: Largest message accepted (Binance's largest depth snapshot is about 0.2 MB).
MAX_MESSAGE = 16 * 2**20
_PROTOCOL_ERROR, _INVALID_PAYLOAD, _TOO_BIG = 1002, 1007, 1009
_NO_STATUS = 1005
# First byte of an unfragmented text frame; second byte of a short unmasked one.
_FIN_TEXT, _SHORT = 0x81, 126
_RSV1, _RSV23 = 0x40, 0x30
_SPLIT_PIECES = 64 * 1024  # frames longer than this are collected piece by piece
_DEFLATE_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: removed by the sender, restored here
_UTF8 = codecs.getincrementaldecoder("utf-8")


class BinaryMessage(bytes):
    """A binary message (text messages are plain ``bytes`` holding valid UTF-8)."""

    __slots__ = ()


class FrameError(Exception):
    """The peer broke the framing rules: close the connection with ``code``.

    :ivar messages: the messages completed before the violation, in the same read.
    """

    def __init__(self, code: int, reason: str, messages: list[bytes] | None = None) -> None:
        super().__init__(code, reason, messages)
        self.code = code
        self.reason = reason
        self.messages = messages or []

    def __str__(self) -> str:
        return self.reason


class FrameReader:
    """Feed it the bytes read from the socket; it returns complete data messages (text as
    ``bytes`` checked to be UTF-8, binary as :class:`BinaryMessage`) and queues control
    frames in :attr:`control`. Nothing after a close frame is read.

    :param client: this end is the client, so frames must arrive unmasked (a server's
        frames must arrive masked).
    :param max_message: a longer message (after inflating) is a :class:`FrameError` (1009).
    :param deflate: permessage-deflate was negotiated (RFC 7692): a message whose first
        frame has RSV1 set is compressed.
    :param inflate_reset: the peer compresses each message afresh (its side's
        ``no_context_takeover``).
    """

    def __init__(self, *, client: bool = True, max_message: int = MAX_MESSAGE, deflate: bool = False,
                 inflate_reset: bool = False) -> None:
        self.client = client
        self.max_message = max_message
        self.deflate = deflate
        self.inflate_reset = inflate_reset
        #: ``(opcode, payload)`` of control frames (close, ping, pong) in arrival order;
        #: the I/O layer answers and clears them.
        self.control: list[tuple[int, bytes]] = []
        #: A close frame arrived: everything after it is ignored.
        self.closed = False
        self._buf = b""
        self._parts: list[bytes] | None = None  # a fragmented message being assembled
        self._binary = False  # ... of this kind
        self._compressed = False  # ... compressed
        self._text: codecs.IncrementalDecoder | None = None  # ... checked piece by piece
        self._size = 0
        self._inflater: zlib._Decompress | None = None
        # A long frame arrives over many reads: its pieces are kept apart until it is
        # whole (joining them at every read would copy it over and over).
        self._pieces: list[bytes] = []
        self._have = 0
        self._need = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by ``data`` (a partial frame waits for the rest).

        :raises FrameError: a protocol violation (carrying the messages completed before
            it); the reader is unusable afterwards.
        """
        if self.closed:
            return []
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
        try:
            while not self.closed:
                if self.client and self._parts is None:
                    pos = _split(buf, pos, out)  # the common case: whole ASCII text frames
                if end - pos < 2:
                    break
                stop = self._frame(buf, pos, end, out)
                if stop < 0:
                    break
                pos = stop
        except FrameError as exc:
            exc.messages = out
            raise
        if self.closed:
            self._buf = b""
            return out
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
        compressed = bool(b0 & _RSV1)
        if b0 & _RSV23 or (compressed and not self.deflate):
            raise FrameError(_PROTOCOL_ERROR, "reserved bits set (no extension was negotiated for them)")
        if bool(masked) == self.client:
            side = "server sent a masked" if self.client else "client sent an unmasked"
            raise FrameError(_PROTOCOL_ERROR, f"{side} frame")
        if opcode >= CLOSE:
            if opcode > PONG:
                raise FrameError(_PROTOCOL_ERROR, f"unknown control opcode {opcode}")
            if not b0 & 0x80 or n > 125:
                raise FrameError(_PROTOCOL_ERROR, "control frame fragmented or longer than 125 bytes")
            if compressed:
                raise FrameError(_PROTOCOL_ERROR, "compressed control frame")
        elif opcode > BINARY:
            raise FrameError(_PROTOCOL_ERROR, f"unknown data opcode {opcode}")
        elif opcode == CONTINUATION:
            if self._parts is None:
                raise FrameError(_PROTOCOL_ERROR, "continuation frame outside a fragmented message")
            if compressed:
                raise FrameError(_PROTOCOL_ERROR, "RSV1 set on a continuation frame")
        elif self._parts is not None:
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
            if opcode == CLOSE:
                self.closed = True
            return stop
        if opcode != CONTINUATION:
            self._parts, self._binary, self._compressed, self._size = [], opcode == BINARY, compressed, 0
            self._text = None if opcode == BINARY else _UTF8()
        self._data(payload, bool(b0 & 0x80), out)
        return stop

    def _data(self, payload: bytes, fin: bool, out: list[bytes]) -> None:
        """One data frame's payload: the message so far grows; at FIN it is complete."""
        parts = self._parts
        assert parts is not None
        if self._compressed:
            payload = self._inflate(payload + _DEFLATE_TAIL if fin else payload, fin)
        self._size += len(payload)
        text = self._text
        # ASCII needs no check, unless a code point begun in the last piece continues here.
        if text is not None and not (payload.isascii() and not text.getstate()[0]):
            try:  # piece by piece, so an invalid sequence fails as soon as it arrives
                text.decode(payload, fin)
            except UnicodeDecodeError:
                raise FrameError(_INVALID_PAYLOAD, "text message is not valid UTF-8") from None
        parts.append(payload)
        if fin:
            message = parts[0] if len(parts) == 1 else b"".join(parts)
            out.append(BinaryMessage(message) if self._binary else message)
            self._parts, self._text, self._size = None, None, 0

    def _inflate(self, data: bytes, fin: bool) -> bytes:
        if self._inflater is None:
            # A 32 KB window reads whatever window the peer compressed with (9-15 bits).
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        room = self.max_message - self._size
        try:
            out = self._inflater.decompress(data, room + 1)
        except zlib.error as exc:
            raise FrameError(_INVALID_PAYLOAD, f"compressed message does not inflate ({exc})") from None
        if len(out) > room or self._inflater.unconsumed_tail:
            raise FrameError(_TOO_BIG, f"message longer than {self.max_message} bytes once inflated")
        if fin and self.inflate_reset:
            self._inflater = None
        return out


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
    """Append the payloads of the unfragmented, unmasked, uncompressed text frames of
    ASCII text (length < 64 KiB) at ``buf[pos:]`` to ``out``; returns the offset of the
    first frame that is incomplete or of another kind (the reader's general path takes
    it). ASCII is valid UTF-8, so these need no other check. (The compiled twin does the
    same.)"""
    end = len(buf)
    while end - pos >= 2:
        if buf[pos] != _FIN_TEXT:
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
        payload = buf[start:stop]
        if not payload.isascii():
            break
        out.append(payload)
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


def masked_text_frame(payload: bytes, key: bytes) -> bytes:
    """An unfragmented text frame as a client sends it: masked with the 4-byte ``key``
    (RFC 6455 5.3: the caller draws it from a strong source of entropy, per frame)."""
    n = len(payload)
    if n < _SHORT:
        head = bytes((_FIN_TEXT, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((_FIN_TEXT, 0x80 | _SHORT)) + n.to_bytes(2, "big")
    else:
        head = bytes((_FIN_TEXT, 0xFF)) + n.to_bytes(8, "big")
    return head + key + _unmask(payload, key)  # XOR both ways: masking is unmasking


def _unmask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")
