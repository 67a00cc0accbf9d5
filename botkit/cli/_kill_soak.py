"""``botkit soak --kills N``: a live bot killed with SIGKILL N times, restarted on its
journal each time, and proof that nothing was lost or done twice.

The driver runs the simulator (an endless generated market, the WebSocket API with its
matching engine and balances) in its own event loop on loopback; the bot is a real
``botkit run --live --journal`` subprocess trading an order-placing strategy against it.
Each bot is killed at a random moment: by a crash point the bot arms from
``BOTKIT_FAILPOINT`` (between an order's intent and its frame, between the frame and
the venue's answer, between a fill reaching the strategy and its journal entry), or by
the driver after a random delay (during start-up, reconciliation or trading). The
market, and the bot's resting orders, go on while it is down.

After each restart is ready (restored, reconciled, ``on_start`` done), and at the end
(after a last clean stop), the driver compares the venue's books with the journal:

- ``duplicate_orders``: client ids the venue was sent twice;
- ``orphan_orders``: orders at the venue the journal has no intent for (and, at the end,
  any still open);
- ``missed_fills``: venue fills of the bot's orders not journaled once the next run is
  ready (or the strategy's own fill count below the journal's);
- ``double_fills``: journaled fills the venue does not have (or the strategy's count
  above the journal's: a fill heard twice);
- ``position_mismatch``: the base asset the venue holds against the start plus the
  journal's fills (``balance_mismatch``: the same for the quote asset);
- ``state_lost``: a restart whose ``self.state`` is not the one last saved.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from .._exceptions import JournalError
from ..journal import open_for_reading
from ..sim import market_frames
from ..sim._trading import SimAccount, TradingVenue

__all__ = ["KILL_KEYS", "run_kill_soak"]

#: The counters that must all be 0 (exit 1 otherwise).
KILL_KEYS = ("duplicate_orders", "orphan_orders", "missed_fills", "double_fills", "position_mismatch",
             "balance_mismatch", "state_lost", "restart_failures")
_START = {"USDT": Decimal(1_000_000), "BTC": Decimal(10)}
_KEY = "kill-soak-key"
_KINDS = ("before-write", "after-write", "fill", "timer")
_READY_TIMEOUT_S = 30.0
_FAILPOINT_TIMEOUT_S = 8.0  # not reached by then (no fill came): the driver kills it
_STOP_TIMEOUT_S = 30.0

#: The bot: orders around the last price (some cross at once, some rest and fill later,
#: some are cancelled), a market order now and then; ``self.state`` counts its fills and
#: position from ``on_fill`` alone, and what it found restored at each start.
STRATEGY = '''
import random
from decimal import Decimal

import botkit


class KillSoak(botkit.Strategy):
    venue = "binance"
    symbols = ("BTCUSDT",)
    channels = ("trades",)

    def on_start(self):
        state = self.state
        state["restored_starts"] = state.get("starts", 0)
        state["restored_fills"] = state.get("fills", 0)
        state["starts"] = state.get("starts", 0) + 1
        state.setdefault("fills", 0)
        state.setdefault("base", "0")
        self.rng = random.Random(state["starts"])
        self.n = 0
        self.set_timer("tick", 0.05, repeat=True)

    def on_trade(self, trade):
        self.n += 1
        if self.n % 4:
            return
        rng = self.rng
        open_orders = self.open_orders()
        if len(open_orders) >= 4:
            self.cancel(open_orders[rng.randrange(len(open_orders))].client_id)
            return
        size = Decimal("0.001") * rng.randint(1, 3)
        offset = Decimal(rng.randint(-6, 6)) / 10
        roll = rng.random()
        if roll < 0.15:
            self.buy(size) if rng.random() < 0.5 else self.sell(size)
        elif roll < 0.6:
            self.buy(size, trade.price + offset)
        else:
            self.sell(size, trade.price - offset)

    def on_timer(self, timer):
        self.state["ticks"] = self.state.get("ticks", 0) + 1

    def on_fill(self, fill):
        state = self.state
        state["fills"] += 1
        sign = 1 if fill.side is botkit.Side.BUY else -1
        state["base"] = str(Decimal(state["base"]) + sign * fill.size)
'''

_CONFIG = """
[risk]
max_open_orders = 20
max_orders_per_second = 50
max_order_notional = "100000"

[live]
recv_window_ms = 1000    # loopback: an order lost with its connection is known absent 1 s later
cancel_timeout_s = 10
"""


#: What the kills left for a restart to resolve (counted from the journal at the end).
_HARD_CASES = {
    # Intents whose run died before the venue answered; a later run found out by query.
    "orders_unanswered_at_a_kill": "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM venue_reports v "
                                   "WHERE v.client_id = o.client_id AND v.run = o.run) AND EXISTS (SELECT 1 FROM "
                                   "venue_reports v WHERE v.client_id = o.client_id AND v.run > o.run)",
    # Intents whose frame never left (killed before the write): settled by a query
    # finding no such order once its recvWindow had passed, never sent.
    "orders_never_sent_at_a_kill": "SELECT count(DISTINCT client_id) FROM order_updates "
                                   "WHERE reason LIKE 'never reached the venue%'",
    # Orders a run sent that were still open when it died: held again by the next one.
    "orders_open_at_a_kill": "SELECT count(DISTINCT o.client_id) FROM orders o JOIN venue_reports v "
                             "ON v.client_id = o.client_id AND v.run > o.run",
    # Fills journaled by a later run than the one that sent the order (mid-fill kills,
    # fills while the bot was down).
    "fills_recovered_after_a_kill": "SELECT count(*) FROM fills f JOIN orders o USING (client_id) WHERE f.run > o.run",
}


class _Checks:
    """The counters, added up over every restart and the end."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(KILL_KEYS, 0)
        self.kills: dict[str, int] = {}
        self.failpoints_reached = 0
        self.ready_s: list[float] = []
        self.restarts_checked = 0
        self.killed_before_ready = 0
        self.errors: list[str] = []
        self.hard_cases: dict[str, int] = {}

    def add(self, key: str, n: int, why: str) -> None:
        if n:
            self.counts[key] += n
            if len(self.errors) < 20:
                self.errors.append(f"{key} +{n}: {why}")


async def run_kill_soak(kills: int, *, seed: int = 1, speed: float = 10.0, workdir: str | None = None,
                        python: str = sys.executable) -> dict[str, Any]:
    """Run the kill soak and return its figures (``name: value``)."""
    from ..sim import ExchangeSimulator

    rng = random.Random(seed)
    secret = f"soak-{rng.getrandbits(128):032x}"
    account = SimAccount(_KEY, hmac_secret=secret.encode(), balances=dict(_START))
    venue = TradingVenue([account], orders_per_10s=100_000, orders_per_day=10_000_000)
    sim = ExchangeSimulator(market_frames(seed=seed), speed=speed, pause_when_idle=False, trading=venue,
                            end_when_done=False)
    url = sim.listen()
    checks = _Checks()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="botkit-kill-soak-", dir=workdir) as tmp:
        work = Path(tmp)
        strategy, config, journal = work / "kill_soak.py", work / "soak.toml", work / "soak.journal"
        strategy.write_text(STRATEGY)
        config.write_text(_CONFIG)
        argv = [python, "-m", "botkit", "run", str(strategy), "--live", "--url", url,
                "--api-url", url.replace("/stream", "/ws-api/v3"), "--journal", str(journal), "--config",
                str(config), "-q"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOTKIT_")}
        env |= {"BOTKIT_BINANCE_API_KEY": _KEY, "BOTKIT_BINANCE_API_SECRET": secret, "PYTHONUNBUFFERED": "1"}
        driver = _Driver(argv, env, work, journal, venue, account, checks)
        async with anyio.create_task_group() as tg:
            await tg.start(sim.serve)
            for index in range(kills):
                await driver.cycle(_KINDS[index % len(_KINDS)], rng)
            await driver.last_run()
            tg.cancel_scope.cancel()
    return _figures(checks, venue, kills, time.monotonic() - started)


class _Driver:
    def __init__(self, argv: list[str], env: dict[str, str], work: Path, journal: Path, venue: TradingVenue,
                 account: SimAccount, checks: _Checks) -> None:
        self.argv, self.env, self.work, self.journal = argv, env, work, journal
        self.venue, self.account, self.checks = venue, account, checks
        self.runs = 0  # bot processes started
        self.spawned_ns = 0  # when the latest one was
        self.saved_state: dict[str, Any] = {}  # the state the journal held when the last bot died

    async def cycle(self, kind: str, rng: random.Random) -> None:
        """One bot, killed by ``kind``; the checks of its restart when it got that far."""
        env = dict(self.env)
        if kind != "timer":
            env["BOTKIT_FAILPOINT"] = f"{kind}:{rng.randint(1, 3 if kind == 'fill' else 8)}"
        delay = rng.uniform(0.2, 3.0) if kind == "timer" else None
        async with await self._spawn(env) as proc:
            spawned_trades, run = self._venue_trade_ids(), await self._runs() + 1
            deadline = time.monotonic() + (delay if delay is not None else _READY_TIMEOUT_S + _FAILPOINT_TIMEOUT_S)
            ready = False
            while proc.returncode is None and time.monotonic() < deadline:
                if delay is None and not ready and await self._ready(run):
                    ready = True
                    deadline = min(deadline, time.monotonic() + _FAILPOINT_TIMEOUT_S)
                with anyio.move_on_after(0.02):
                    await proc.wait()
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                how = "timer" if delay is not None else f"{kind} (not reached: timer)"
            elif proc.returncode == -signal.SIGKILL:
                how = kind
                self.checks.failpoints_reached += kind != "timer"
            else:
                self.checks.add("restart_failures", 1, f"run {self.runs} exited {proc.returncode}: {self._log_tail()}")
                how = f"exit {proc.returncode}"
        self.checks.kills[how] = self.checks.kills.get(how, 0) + 1
        # Checked after its death: what it journaled only grows, and its state keeps what
        # its on_start found restored.
        if await self._ready(run):
            await self._check_restart(run, spawned_trades)
        else:
            self.checks.killed_before_ready += 1
        self.saved_state = await self._state()

    async def last_run(self) -> None:
        """A last bot, restarted on the journal, trading a moment, then stopped cleanly."""
        async with await self._spawn(dict(self.env)) as proc:
            spawned_trades, run = self._venue_trade_ids(), await self._runs() + 1
            deadline = time.monotonic() + _READY_TIMEOUT_S
            while not await self._ready(run):
                if proc.returncode is not None or time.monotonic() > deadline:
                    self.checks.add("restart_failures", 1, f"last run not ready: {self._log_tail()}")
                    return
                await anyio.sleep(0.02)
            await self._check_restart(run, spawned_trades)
            await anyio.sleep(1.0)  # trade a moment: orders open at the stop
            proc.send_signal(signal.SIGTERM)
            with anyio.move_on_after(_STOP_TIMEOUT_S):
                await proc.wait()
            if proc.returncode != 0:
                self.checks.add("restart_failures", 1, f"last run ended {proc.returncode}: {self._log_tail()}")
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        await self._check_end()

    # -- the checks ----------------------------------------------------------------------

    async def _check_restart(self, run: int, spawned_trades: set[str]) -> None:
        """The run ``run`` got ready: everything the venue did before it started must be
        in the journal, and the state its ``on_start`` found the one saved before it."""
        self.checks.restarts_checked += 1
        self.checks.ready_s.append(await self._ready_seconds(run))
        seen = await anyio.to_thread.run_sync(self._read, run)
        missing = spawned_trades - seen["trade_ids"]
        self.checks.add("missed_fills", len(missing), f"run {run} ready without venue fills {sorted(missing)[:5]}")
        self._check_common(seen, f"run {run}")
        state = seen["state_of_run"]
        saved = self.saved_state
        if state is None:
            self.checks.add("state_lost", 1, f"run {run} saved no state")
        elif (state.get("restored_starts"), state.get("restored_fills")) != (saved.get("starts", 0),
                                                                              saved.get("fills", 0)):
            self.checks.add("state_lost", 1, f"run {run} restored starts/fills {state.get('restored_starts')}/"
                                             f"{state.get('restored_fills')}, saved {saved.get('starts', 0)}/"
                                             f"{saved.get('fills', 0)}")

    async def _check_end(self) -> None:
        seen = await anyio.to_thread.run_sync(self._read, 0)
        venue_ids = self._venue_trade_ids()
        missing = venue_ids - seen["trade_ids"]
        self.checks.add("missed_fills", len(missing), f"at the end, venue fills not journaled {sorted(missing)[:5]}")
        self._check_common(seen, "the end")
        still_open = [cid for cid, o in self._venue_orders().items() if o.status in ("NEW", "PARTIALLY_FILLED")]
        self.checks.add("orphan_orders", len(still_open), f"open at the venue after the stop: {still_open[:5]}")
        expected = dict(_START)
        for side, size, price, fee, fee_asset in seen["fills"]:
            sign = 1 if side == "buy" else -1
            expected["BTC"] += sign * Decimal(size)
            expected["USDT"] -= sign * Decimal(size) * Decimal(price)
            expected[fee_asset] = expected.get(fee_asset, Decimal(0)) - Decimal(fee)
        balances = self.account.balances
        base = balances.get("BTC", Decimal(0)) - expected["BTC"]
        quote = balances.get("USDT", Decimal(0)) - expected["USDT"]
        self.checks.hard_cases = seen["hard_cases"]
        self.checks.add("position_mismatch", int(base != 0), f"venue BTC off the journal's by {base}")
        self.checks.add("balance_mismatch", int(quote != 0), f"venue USDT off the journal's by {quote}")

    def _check_common(self, seen: dict[str, Any], when: str) -> None:
        venue_ids = self._venue_trade_ids()
        extra = seen["trade_ids"] - venue_ids
        self.checks.add("double_fills", len(extra), f"{when}: journaled fills the venue lacks {sorted(extra)[:5]}")
        orders = self._venue_orders()
        orphans = [cid for cid in orders if cid not in seen["intents"]]
        self.checks.add("orphan_orders", len(orphans), f"{when}: venue orders without an intent {orphans[:5]}")
        self.checks.counts["duplicate_orders"] = self.venue.stats.duplicate_placements
        state, count = seen["state"], len(seen["trade_ids"])
        if state is not None:
            told = int(state.get("fills", 0))  # committed with the fills it counts: always equal
            why = f"{when}: the strategy heard {told} fills, {count} journaled"
            self.checks.add("double_fills", max(told - count, 0), why)
            self.checks.add("missed_fills", max(count - told, 0), why)

    # -- the bot and the journal ---------------------------------------------------------

    async def _spawn(self, env: dict[str, str]) -> anyio.abc.Process:
        self.runs += 1
        self.spawned_ns = time.time_ns()
        log = (self.work / f"bot-{self.runs}.log").open("wb")
        try:
            return await anyio.open_process(self.argv, env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=log)
        finally:
            log.close()  # the child has its own copy

    def _log_tail(self) -> str:
        text = (self.work / f"bot-{self.runs}.log").read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-3:]) or "(no output)"

    def _venue_orders(self) -> dict[str, Any]:
        return {o.order.client_id: o for o in self.venue.orders.values()}

    def _venue_trade_ids(self) -> set[str]:
        return {str(row["id"]) for row in self.venue.trades}

    async def _runs(self) -> int:
        return int(await self._ask("SELECT count(*) FROM runs", (), 0))

    async def _ready(self, run: int) -> bool:
        return bool(await self._ask("SELECT count(*) FROM runs WHERE run = ? AND ready_ns IS NOT NULL", (run,), 0))

    async def _ready_seconds(self, run: int) -> float:
        """From the bot's spawn to its run being ready (both wall clock, one machine):
        interpreter start, restore, connect, reconciliation, ``on_start``."""
        ready_ns = await self._ask("SELECT ready_ns FROM runs WHERE run = ?", (run,), 0)
        return (int(ready_ns) - self.spawned_ns) / 1e9

    async def _state(self) -> dict[str, Any]:
        text = await self._ask("SELECT state FROM strategy_state", (), None)
        return dict(json.loads(text)) if text else {}

    async def _ask(self, sql: str, params: tuple[Any, ...], default: Any) -> Any:
        return await anyio.to_thread.run_sync(self._query, sql, params, default)

    def _query(self, sql: str, params: tuple[Any, ...], default: Any) -> Any:
        if not self.journal.exists():
            return default
        try:
            conn = open_for_reading(self.journal)
        except JournalError:  # not made yet (the bot died first), or being made
            return default
        try:
            row = conn.execute(sql, params).fetchone()
        except sqlite3.Error:
            return default
        finally:
            conn.close()
        return default if row is None or row[0] is None else row[0]

    def _read(self, run: int) -> dict[str, Any]:
        """One consistent snapshot of the journal (a read transaction)."""
        conn = open_for_reading(self.journal)
        try:
            conn.execute("BEGIN")
            fills = conn.execute("SELECT trade_id, side, size, price, fee, fee_asset FROM fills").fetchall()
            intents = {r[0] for r in conn.execute("SELECT client_id FROM orders")}
            row = conn.execute("SELECT state, run FROM strategy_state").fetchone()
            hard = {name: conn.execute(sql).fetchone()[0] for name, sql in _HARD_CASES.items()} if not run else {}
            conn.execute("COMMIT")
        finally:
            conn.close()
        state = json.loads(row[0]) if row else None
        return {
            "trade_ids": {f[0] for f in fills},
            "fills": [f[1:] for f in fills],
            "intents": intents,
            "state": state,
            "state_of_run": state if row and row[1] == run else None,
            "hard_cases": hard,
        }


def _figures(checks: _Checks, venue: TradingVenue, kills: int, elapsed: float) -> dict[str, Any]:
    ready = checks.ready_s
    return {
        "kills": kills,
        "kills_by_kind": dict(sorted(checks.kills.items())),
        "failpoints_reached": checks.failpoints_reached,
        "runs_checked_after_ready": checks.restarts_checked,
        "runs_killed_before_ready": checks.killed_before_ready,
        **checks.hard_cases,
        "orders_at_venue": len(venue.orders),
        "fills_at_venue": len(venue.trades),
        "spawn_to_ready_s_median": round(statistics.median(ready), 3) if ready else None,
        "spawn_to_ready_s_max": round(max(ready), 3) if ready else None,
        **checks.counts,
        "elapsed_s": round(elapsed, 1),
        "first_errors": checks.errors,
    }
