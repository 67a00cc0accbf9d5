"""Shared fixtures. Rules: loopback/in-memory only, no sleeps for synchronisation,
every async test bounded by ``anyio.fail_after``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
# Before landing: HYPOTHESIS_PROFILE=stress pytest -k "not soak" digs out rare counterexamples.
settings.register_profile("stress", max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real exchange capture {path} is absent (only in the botkit workspace)")
    return path


COUNTING = """
import botkit

class Counting(botkit.Strategy):
    channels = ("trades", "quotes")

    def on_trade(self, trade):
        pass
"""


@pytest.fixture
def counting(tmp_path: Path) -> Path:
    path = tmp_path / "counting.py"
    path.write_text(COUNTING)
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    from .helpers import quote, trade, write_recording

    return write_recording(tmp_path / "small.txt", [trade(1), quote(2), trade(2), quote(4), quote(5)])


