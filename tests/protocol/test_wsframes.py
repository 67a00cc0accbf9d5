"""The WebSocket frame reader (sans-IO) against wsproto's encoder, the independent
reference: any mix of messages, fragments and control frames, cut at any byte, reads
back as sent; every framing violation is a FrameError with the close code RFC 6455 asks."""

from __future__ import annotations

import random

import pytest
import wsproto.frame_protocol as wsproto_frames
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol

from botkit.protocol import _compiled
from botkit.protocol._wsframes import (
    FrameError,
    FrameReader,
    close_payload,
    masked_text_frame,
    split_frames,
    text_frame,
)

_sizes = st.one_of(st.integers(0, 300), st.sampled_from([125, 126, 127, 65535, 65536, 70000]))
# Payload bytes from a seeded generator: hypothesis need not draw 70,000 bytes itself.
_payloads = st.tuples(_sizes, st.integers(0, 2**32)).map(lambda ns: random.Random(ns[1]).randbytes(ns[0]))
_message = st.tuples(
    st.booleans(),  # text?
    _payloads,
    st.integers(1, 3),  # fragments
    st.lists(st.tuples(st.sampled_from([9, 10]), st.binary(max_size=125)), max_size=2),  # control frames inside
)


def _encode(messages: list[tuple], *, client_sends: bool) -> tuple[bytes, list[bytes], list[tuple[int, bytes]]]:
    """Wire bytes (wsproto's), the messages and the control frames a reader must give."""
    proto = FrameProtocol(client=client_sends, extensions=[])
    wire, expected, control = bytearray(), [], []
    for text, payload, pieces, pings in messages:
        data = payload.decode("latin-1") if text else payload
        step = max(1, len(data) // pieces)
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [data]
        for n, chunk in enumerate(chunks):
            wire += proto.send_data(chunk, n == len(chunks) - 1)
            if n == 0:
                for opcode, body in pings:  # control frames may come between fragments
                    wire += proto.ping(body) if opcode == 9 else proto.pong(body)
                    control.append((opcode, body))
        expected.append(data.encode() if text else data)
    return bytes(wire), expected, control


def _read(reader: FrameReader, wire: bytes, cuts: list[int]) -> list[bytes]:
    out: list[bytes] = []
    bounds = sorted({0, len(wire), *[c % (len(wire) + 1) for c in cuts]})
    for a, b in zip(bounds, bounds[1:]):
        out += reader.feed(wire[a:b])
    return out


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the splitter is fixed per test
@given(messages=st.lists(_message, max_size=8), cuts=st.lists(st.integers(0, 10**6), max_size=12))
def test_any_stream_cut_anywhere_reads_back_as_sent(splitter: str, messages: list[tuple], cuts: list[int]) -> None:
    for client in (True, False):  # a server's frames (unmasked) and a client's (masked)
        wire, expected, control = _encode(messages, client_sends=not client)
        reader = FrameReader(client=client)
        assert _read(reader, wire, cuts) == expected
        assert reader.control == control


@given(payloads=st.lists(st.binary(max_size=300), max_size=30), cut=st.integers(0, 10**5))
def test_compiled_and_python_splitters_agree(payloads: list[bytes], cut: int) -> None:
    if _compiled.split_frames is None:
        pytest.skip("the C accelerator is not built here")
    wire = b"".join(text_frame(p) for p in payloads) + b"\x89\x00" + text_frame(b"after a ping")
    wire = wire[: cut % (len(wire) + 1)]
    compiled: list[bytes] = []
    python: list[bytes] = []
    assert _compiled.split_frames(wire, 0, compiled) == split_frames(wire, 0, python)
    assert compiled == python


def test_text_frame_is_what_wsproto_sends() -> None:
    server = FrameProtocol(client=False, extensions=[])
    for n in (0, 125, 126, 65535, 65536):
        assert text_frame(b"x" * n) == bytes(server.send_data("x" * n, True))


@pytest.mark.parametrize(
    ("wire", "client", "code", "words"),
    [
        (b"\x81\x85abcd" + b"hello", True, 1002, "masked"),  # a server must not mask
        (b"\x81\x05hello", False, 1002, "unmasked"),  # a client must
        (b"\xc1\x01x", True, 1002, "reserved"),  # RSV1: no extension was negotiated
        (b"\x83\x01x", True, 1002, "opcode"),
        (b"\x8b\x00", True, 1002, "opcode"),
        (b"\x09\x00", True, 1002, "control"),  # a fragmented ping
        (b"\x89\x7e\x00\x7e" + b"x" * 126, True, 1002, "control"),  # a ping over 125 bytes
        (b"\x80\x01x", True, 1002, "continuation"),
        (b"\x01\x01x\x81\x01y", True, 1002, "inside"),
        (b"\x82\x7f\x80" + b"\x00" * 7, True, 1002, "top bit"),
        (b"\x82\x7f" + (17 * 2**20).to_bytes(8, "big"), True, 1009, "longer"),
        (b"\x02\x7f" + (9 * 2**20).to_bytes(8, "big") + b"x" * 9 * 2**20 + b"\x80\x7f"
         + (9 * 2**20).to_bytes(8, "big"), True, 1009, "longer"),  # too big once assembled
    ],
)
def test_framing_violations_name_their_close_code(wire: bytes, client: bool, code: int, words: str) -> None:
    with pytest.raises(FrameError) as caught:
        FrameReader(client=client).feed(wire)
    assert caught.value.code == code
    assert words in caught.value.reason


def test_a_partial_frame_waits_for_the_rest() -> None:
    reader = FrameReader()
    wire = text_frame(b"x" * 200) + text_frame(b"y")
    assert reader.feed(wire[:3]) == []
    assert reader.feed(wire[3:150]) == []
    assert reader.feed(wire[150:]) == [b"x" * 200, b"y"]


def test_close_payloads() -> None:
    assert close_payload(b"") == (1005, "")
    assert close_payload(b"\x03\xe8bye") == (1000, "bye")
    with pytest.raises(FrameError, match="one-byte"):
        close_payload(b"\x03")
    with pytest.raises(FrameError) as caught:
        close_payload(b"\x03\xe8\xff")
    assert caught.value.code == 1007
    assert close_payload(b"\x0f\xa0app") == (4000, "app")
    for code in (0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535):
        with pytest.raises(FrameError, match=f"invalid close code {code}"):
            close_payload(code.to_bytes(2, "big"))


@given(texts=st.lists(st.text(max_size=70_000).map(str.encode)
                      | st.sampled_from([b"", b"x" * 125, b"y" * 126, b"z" * 65_535, b"w" * 65_536]),
                      min_size=1, max_size=5),
       key=st.binary(min_size=4, max_size=4))
@settings(max_examples=60)
def test_a_clients_masked_text_frames_read_back_and_match_wsprotos(texts: list[bytes], key: bytes) -> None:
    wire = b"".join(masked_text_frame(t, key) for t in texts)
    assert FrameReader(client=False).feed(wire) == texts
    # Byte for byte what wsproto sends with that masking key.
    original = wsproto_frames.os.urandom
    wsproto_frames.os.urandom = lambda n: key
    try:
        assert FrameProtocol(client=True, extensions=[]).send_data(texts[0].decode(), True) == wire[
            : len(masked_text_frame(texts[0], key))]
    finally:
        wsproto_frames.os.urandom = original
