"""The local development chain: anvil, the devnet deployer, the demo market and the market maker.

- :mod:`trading.devchain.anvil`: ``AnvilNode``, a local node on 127.0.0.1.
- :mod:`trading.devchain.devnet`: ``Devnet``, synchronous deployment helpers (tokens,
  Uniswap V2/V3 and Solidly pools, swaps).
- :mod:`trading.devchain.market`: the one market builder (tokens and pools of every
  family at given prices and depths, with deliberate gaps) and the one market maker
  (random swaps every block, one batch per block).
- :mod:`trading.devchain.demo`: the demo market that ``manage.py run --demo`` trades on.

For development, tests and benchmarks only: the production engine paths never
import this package (the ``run`` command imports it for its demo mode alone).
"""
