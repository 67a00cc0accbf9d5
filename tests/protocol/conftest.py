"""Fixtures shared by the protocol tests."""

from __future__ import annotations

import pytest

from botkit.protocol import _compiled, _wsframes
from botkit.protocol._wsframes import split_frames


@pytest.fixture(params=["compiled", "python"])
def splitter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The frame reader's common-frame splitter: the compiled one, then the Python twin."""
    if request.param == "compiled":
        if _compiled.split_frames is None:
            pytest.skip("the C accelerator is not built here")
        monkeypatch.setattr(_wsframes, "_split", _compiled.split_frames)
    else:
        monkeypatch.setattr(_wsframes, "_split", split_frames)
    return str(request.param)
