"""The dashboard's parts on their own: bounded series, the stream's catch-up rule, the
publishing rate (on a virtual clock), the settings' checks."""

from __future__ import annotations

import functools
import socket
from decimal import Decimal
from typing import Any

import anyio
import msgspec
import pytest
import trio
import trio.testing

from botkit import ConfigError, Engine, Strategy, Trade
from botkit.dashboard import DashboardSettings
from botkit.dashboard._publisher import Publisher
from botkit.dashboard._settings import Listener, is_loopback, parse_listen
from botkit.dashboard._state import Series, StateView
from botkit.sources import MemorySource


def test_a_full_series_drops_every_other_point_and_says_so() -> None:
    series = Series(limit=8)
    for i in range(8):
        series.add(i, i * 10)
    assert series.generation == 0 and series.since(5) == [[5, 50], [6, 60], [7, 70]]
    series.add(8, 80)
    assert series.generation == 1 and [p[0] for p in series.points] == [1, 3, 5, 7, 8]
    for i in range(9, 1_000):
        series.add(i, i)
    assert len(series.points) <= 8 and series.points[-1] == [999, 999] and series.total == 1_000
    assert series.since(1_000) == [] and series.since(999) == [[999, 999]]


class _Counting(Strategy):
    symbols = ("BTC-USDT",)
    bought = False

    def on_trade(self, trade: Trade) -> None:
        if not self.bought:
            self.bought = bool(self.buy(Decimal("0.001")))


def _engine(source: type[MemorySource] = MemorySource) -> Engine:
    from botkit import Side

    trades = [Trade("binance", "BTC-USDT", Decimal(60_000 + i), Decimal("0.01"), Side.BUY, i, 1_000 + i * 1_000_000,
                    1_000 + i * 1_000_000) for i in range(1, 50)]
    return Engine(_Counting(), source(trades))


def test_the_view_reads_a_run() -> None:
    engine = _engine()
    anyio.run(engine.run)
    view = StateView(engine)
    view.sample()
    status = view.status()
    assert status["events"] == 49 and status["fills"] == 1 and status["mode"] == "backtest"
    assert status["feeds"] == [{"venue": "feed", "state": "replay", "connected": True, "frames": 49,
                                "parse_errors": 0, "ignored_frames": 0, "gaps": 0, "duplicates": 0, "outliers": 0,
                                "reconnects": 0, "stale_detections": 0, "last_message_age_s": None}]
    portfolio = view.portfolio()
    assert portfolio["positions"][0]["size"] == "0.001" and portfolio["starting_equity"] == "10000"
    assert view.price.points[-1][1] == 60_049.0 and view.equity.points
    msgspec.json.encode(view.snapshot())  # plain data throughout


class _FakeView:
    def __init__(self) -> None:
        self.equity, self.price, self.symbol = Series(limit=4), Series(limit=4), "X"
        self.samples = 0

    def sample(self) -> None:
        self.samples += 1
        self.equity.add(self.samples, self.samples)

    def snapshot(self) -> dict[str, Any]:
        return {"samples": self.samples}


async def _take(messages: Any, n: int) -> list[dict[str, Any]]:
    return [msgspec.json.decode(await messages.__anext__()) for _ in range(n)]


def test_a_stream_gets_what_is_new_and_starts_over_when_it_fell_behind() -> None:
    async def main() -> None:
        view = _FakeView()
        publisher = Publisher(view)  # type: ignore[arg-type]
        publisher.update()
        messages = publisher.messages()
        first, = await _take(messages, 1)
        assert first["series"]["reset"] is True and first["series"]["equity"] == [[1, 1]]
        assert publisher.clients == 1
        async with anyio.create_task_group() as tg:
            got: list[dict[str, Any]] = []

            async def read() -> None:
                got.extend(await _take(messages, 1))

            tg.start_soon(read)
            await anyio.wait_all_tasks_blocked()
            publisher.update()
        assert got[0]["series"] == {"reset": False, "symbol": "X", "equity": [[2, 2]], "price": []}
        assert got[0]["state"] == {"samples": 2}
        publisher.update()
        publisher.update()  # this stream missed one: the whole (bounded) series again
        behind, = await _take(messages, 1)
        assert behind["series"]["reset"] is True and behind["series"]["equity"] == [[1, 1], [2, 2], [3, 3], [4, 4]]
        for _ in range(3):  # a full series thins itself: that too starts the stream over
            async with anyio.create_task_group() as tg:
                got.clear()
                tg.start_soon(read)
                await anyio.wait_all_tasks_blocked()
                publisher.update()
        assert got[0]["series"]["reset"] is True and len(got[0]["series"]["equity"]) <= 4
        await messages.aclose()
        assert publisher.clients == 0

    anyio.run(main, backend="trio")


def test_state_is_published_at_the_set_rate_not_per_event() -> None:
    from botkit.dashboard._server import Dashboard

    async def main() -> None:
        engine = _engine()
        listener = Listener.open(DashboardSettings(port=0))
        board = Dashboard(engine, listener, DashboardSettings(port=0, updates_per_s=4))
        with trio.move_on_after(10):  # virtual seconds
            await board._ticker()
        assert 40 <= board.publisher.updates <= 41
        listener.sock.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_listen_addresses() -> None:
    assert parse_listen("8080") == ("127.0.0.1", 8080)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("", "host:", "70000", "x:-1"):
        with pytest.raises(ConfigError, match="expected"):
            parse_listen(bad)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_a_listener_token_is_random_and_compared_whole() -> None:
    first, second = Listener.open(DashboardSettings(port=0)), Listener.open(DashboardSettings(port=0))
    try:
        assert first.token != second.token and len(first.token) == 32
        assert first.accepts(first.token) and not first.accepts(first.token[:-1]) and not first.accepts("")
        assert first.token not in repr(first)
        assert first.sock.type == socket.SOCK_STREAM and first.port > 0
    finally:
        first.sock.close()
        second.sock.close()


def test_the_report_keeps_a_bounded_even_sample_of_its_series() -> None:
    from botkit.cli._report_files import _CHART_POINTS, _thin

    assert _thin(list(range(10))) == list(range(10))
    thinned = _thin(list(range(3 * _CHART_POINTS + 1)))
    assert len(thinned) <= _CHART_POINTS and thinned[-1] == 3 * _CHART_POINTS
    assert len({b - a for a, b in zip(thinned, thinned[1:], strict=False)}) == 1  # evenly spaced


class _Waiting(MemorySource):
    """The events, then a wait until the test stops the engine (a feed that stays up)."""

    async def stream(self, publish: Any) -> None:
        await super().stream(publish)
        await anyio.sleep_forever()


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
def test_it_serves_in_the_engines_task_group_on_either_backend(backend: str) -> None:
    import httpx

    from botkit.dashboard._server import Dashboard

    engine = _engine(_Waiting)
    settings = DashboardSettings(port=0)
    listener = Listener.open(settings)
    board = Dashboard(engine, listener, settings)
    seen: dict[str, Any] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=listener.base_url, timeout=10) as http:
            seen["denied"] = (await http.get("/api/status")).status_code
            auth = {"Authorization": f"Bearer {listener.token}"}
            while (status := (await http.get("/api/status", headers=auth)).json())["events"] < 49:
                await anyio.wait_all_tasks_blocked()  # the engine's turn
            seen["status"] = status
            seen["paused"] = (await http.post("/api/actions/pause", headers=auth)).json()
        engine.stop("test done")

    async def main() -> None:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(functools.partial(engine.run, services=(board.serve,)))
                tg.start_soon(client)

    anyio.run(main, backend=backend)
    assert seen["denied"] == 401 and seen["status"]["events"] == 49 and seen["status"]["fills"] == 1
    assert seen["paused"] == {"action": "pause", "paused": True} and engine.paused
