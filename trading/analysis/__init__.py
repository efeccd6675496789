"""Pure analysis on top of :mod:`trading.amm`: no Django, no web3.

- :mod:`trading.analysis.cycles`: ``Cycle``, ``Hop``, ``CycleIndex``.
- :mod:`trading.analysis.sizing`: ``size_cycle`` and ``SizedCycle``.
- :mod:`trading.analysis.profit`: ``GasModel``, ``evaluate`` and ``Evaluation``,
  ``spot_price``/``path_price`` for gas-cost conversion.
"""

from __future__ import annotations

from trading.analysis.cycles import Cycle, CycleIndex, Hop, PoolRef
from trading.analysis.profit import (
    DEFAULT_GAS_MODEL,
    Evaluation,
    GasModel,
    evaluate,
    path_price,
    spot_price,
)
from trading.analysis.sizing import SizedCycle, simulate, size_cycle

__all__ = [
    "DEFAULT_GAS_MODEL",
    "Cycle",
    "CycleIndex",
    "Evaluation",
    "GasModel",
    "Hop",
    "PoolRef",
    "SizedCycle",
    "evaluate",
    "path_price",
    "simulate",
    "size_cycle",
    "spot_price",
]
