"""The frame reader's message rules (RFC 6455 and 7692), sans-IO: text is checked UTF-8
(fail fast across fragments), binary is marked, nothing after a close frame is read,
messages before a violation are kept, and permessage-deflate messages inflate (with
and without context takeover, bounded in size)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import FrameProtocol

from botkit.protocol._wsframes import BinaryMessage, FrameError, FrameReader

CLOSE = 8


def server(*extensions: PerMessageDeflate) -> FrameProtocol:
    return FrameProtocol(client=False, extensions=list(extensions))


def deflate(**options: bool) -> PerMessageDeflate:
    pmd = PerMessageDeflate(**options)  # type: ignore[arg-type]
    pmd.finalize("permessage-deflate" + "".join(f"; {k}" for k, v in options.items() if v))
    return pmd


def test_text_is_bytes_and_binary_is_marked(splitter: str) -> None:
    proto = server()
    wire = proto.send_data("plain", True) + proto.send_data(b"\x00\x01", True) + proto.send_data("é ü", True)
    got = FrameReader().feed(bytes(wire))
    assert got == [b"plain", b"\x00\x01", "é ü".encode()]
    assert [type(m) for m in got] == [bytes, BinaryMessage, bytes]


@pytest.mark.parametrize("payload", [b"\xff", b"ok \xc3", b"\xed\xa0\x80 surrogate", b"\xf4\x90\x80\x80 too big"])
def test_invalid_utf8_text_is_1007(splitter: str, payload: bytes) -> None:
    wire = bytes([0x81, len(payload)]) + payload
    with pytest.raises(FrameError) as raised:
        FrameReader().feed(wire)
    assert raised.value.code == 1007


def test_invalid_utf8_fails_at_the_fragment_that_carries_it() -> None:
    # Fail fast: the first fragment already holds an invalid sequence; the rest never comes.
    first = bytes([0x01, 3]) + b"a\xffb"
    with pytest.raises(FrameError) as raised:
        FrameReader().feed(first)
    assert raised.value.code == 1007


def test_a_code_point_split_across_fragments_is_valid() -> None:
    euro = "€".encode()
    wire = bytes([0x01, 1]) + euro[:1] + bytes([0x80, 2]) + euro[1:]
    assert FrameReader().feed(wire) == [euro]


def test_nothing_after_a_close_frame_is_read(splitter: str) -> None:
    proto = server()
    wire = proto.send_data("before", True) + proto.close(1000) + proto.send_data("after", True) + b"\xff\xff"
    reader = FrameReader()
    assert reader.feed(bytes(wire)) == [b"before"]
    assert [opcode for opcode, _ in reader.control] == [CLOSE] and reader.closed
    assert reader.feed(proto.send_data("later", True)) == []


def test_messages_before_a_violation_come_with_the_error(splitter: str) -> None:
    proto = server()
    wire = proto.send_data("one", True) + proto.send_data("two", True) + bytes([0x83, 0])  # opcode 3: reserved
    with pytest.raises(FrameError) as raised:
        FrameReader().feed(bytes(wire))
    assert raised.value.code == 1002 and raised.value.messages == [b"one", b"two"]


@pytest.mark.parametrize(
    ("wire", "deflated", "words"),
    [
        (bytes([0xC1, 0]), False, "reserved bits"),  # RSV1 without the extension
        (bytes([0xA1, 0]), True, "reserved bits"),  # RSV2
        (bytes([0x41, 1]) + b"x" + bytes([0xC0, 1]) + b"y", True, "continuation"),  # RSV1 on a continuation
        (bytes([0xC9, 0]), True, "compressed control"),
    ],
)
def test_compression_bits_are_checked(wire: bytes, deflated: bool, words: str) -> None:
    with pytest.raises(FrameError, match=words) as raised:
        FrameReader(deflate=deflated).feed(wire)
    assert raised.value.code == 1002


@given(
    messages=st.lists(st.tuples(st.booleans(), st.binary(max_size=3000), st.integers(1, 4)), max_size=10),
    reset=st.booleans(),
    cut=st.integers(1, 50),
)
def test_deflated_messages_read_back_as_sent(messages: list[tuple[bool, bytes, int]], reset: bool, cut: int) -> None:
    proto = server(deflate(server_no_context_takeover=reset))
    wire, expected = bytearray(), []
    for text, payload, pieces in messages:
        data: str | bytes = payload.decode("latin-1") if text else payload
        step = max(1, len(data) // pieces)
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [data]
        for n, chunk in enumerate(chunks):
            wire += proto.send_data(chunk, n == len(chunks) - 1)
        expected.append(data.encode() if isinstance(data, str) else data)
    reader = FrameReader(deflate=True, inflate_reset=reset)
    got: list[bytes] = []
    for at in range(0, len(wire), cut):
        got += reader.feed(bytes(wire[at : at + cut]))
    assert got == expected
    assert [type(m) is BinaryMessage for m in got] == [not text for text, _, _ in messages]


def test_an_inflation_bomb_is_1009() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\x00" * 2_000_000) + bomb.flush(zlib.Z_SYNC_FLUSH)[:-4]
    wire = bytes([0xC2, 127]) + len(payload).to_bytes(8, "big") + payload
    with pytest.raises(FrameError) as raised:
        FrameReader(deflate=True, max_message=1_000_000).feed(wire)
    assert raised.value.code == 1009


def test_garbage_that_does_not_inflate_is_1007() -> None:
    with pytest.raises(FrameError) as raised:
        FrameReader(deflate=True).feed(bytes([0xC1, 4]) + b"\xff\xff\xff\xff")
    assert raised.value.code == 1007
