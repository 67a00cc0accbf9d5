"""A local exchange simulator on loopback, for tests, demos and fault soaks."""

from ._faults import FAULT_KINDS, Fault, parse_fault
from ._pair_sample import PAIR_SAMPLE_NAME, PAIR_VENUES
from ._sample import market_frames, sample_path
from ._server import ExchangeSimulator
from ._stats import SimStats
from ._venues import recording_venues, venue_simulators

__all__ = ["FAULT_KINDS", "PAIR_SAMPLE_NAME", "PAIR_VENUES", "ExchangeSimulator", "Fault", "SimStats", "market_frames",
           "parse_fault", "recording_venues", "sample_path", "venue_simulators"]
