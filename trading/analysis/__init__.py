"""Pure analysis on top of :mod:`trading.amm`: no Django, no web3.

- :mod:`trading.analysis.cycles`: ``Cycle``, ``Hop``, ``CycleIndex`` (and its
  array form, ``CycleTable``).
- :mod:`trading.analysis.prefilter`: ``EdgeRates``, the float pre-filter that
  rules out at once the cycles the exact ceiling would rule out too.
- :mod:`trading.analysis.sizing`: ``size_cycle`` and ``SizedCycle``.
- :mod:`trading.analysis.profit`: ``GasModel``, ``evaluate`` and ``Evaluation``,
  ``spot_price``/``path_price`` for gas-cost conversion.
- :mod:`trading.analysis.ceiling`: ``hop_ceiling``, ``profit_ceiling``: what a
  cycle can pay at most, without a quote.
- :mod:`trading.analysis.evaluation`: ``GasTerms``, ``StartTerms``,
  ``native_prices`` (and ``NativePricer``, the same reading only the pools
  that can set the prices), ``start_terms``, ``evaluate_cycle(s)`` -> ``Finding`` /
  ``Rejection`` / ``Analysis``; ``evaluate_ids`` (cycle ids of an index, the
  per-block hot path, with lazy rejections).

Importable with no Django settings: nothing here reads the database or a node.
"""

from __future__ import annotations

from trading.analysis.ceiling import hop_ceiling, profit_ceiling
from trading.analysis.cycles import Cycle, CycleIndex, CycleTable, Hop, PoolRef
from trading.analysis.evaluation import (
    Analysis,
    Finding,
    GasTerms,
    NativePricer,
    Rejection,
    StartTerms,
    evaluate_cycle,
    evaluate_cycles,
    evaluate_ids,
    gas_floor,
    native_prices,
    start_terms,
)
from trading.analysis.prefilter import EdgeRates
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
    "Analysis",
    "Cycle",
    "CycleIndex",
    "CycleTable",
    "EdgeRates",
    "Evaluation",
    "Finding",
    "GasModel",
    "GasTerms",
    "Hop",
    "NativePricer",
    "PoolRef",
    "Rejection",
    "SizedCycle",
    "StartTerms",
    "evaluate",
    "evaluate_cycle",
    "evaluate_cycles",
    "evaluate_ids",
    "gas_floor",
    "hop_ceiling",
    "native_prices",
    "path_price",
    "profit_ceiling",
    "simulate",
    "size_cycle",
    "spot_price",
    "start_terms",
]
