# Types of the compiled recording-line scanner (see _clines.c).
from typing import Any

def run_lines(decoder: Any, block: bytes, pos: int, end: int, out: list[Any], limit: int,
              sequencer: Any) -> tuple[int, int]: ...
