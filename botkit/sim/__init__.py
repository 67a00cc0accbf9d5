"""A local exchange simulator on loopback, for tests, demos and fault soaks."""

from ._faults import FAULT_KINDS, Fault, parse_fault
from ._sample import market_frames, sample_path
from ._server import ExchangeSimulator
from ._stats import SimStats

__all__ = ["FAULT_KINDS", "ExchangeSimulator", "Fault", "SimStats", "market_frames", "parse_fault", "sample_path"]
