"""Everything that talks JSON-RPC, and the local chain used by tests and the demo.

- :mod:`trading.chain.client`: ``ChainClient`` (async; failover, retries, health,
  round-trip counts, chain id check) and ``resolve_rpc_urls``.
- :mod:`trading.chain.readers`: call data and decoding of the deployless batch
  readers in ``contracts/`` (pool states, token metadata, factory pool lists).
- :mod:`trading.chain.anvil`: ``AnvilNode``, a local node on 127.0.0.1.
- :mod:`trading.chain.devnet`: synchronous deployment helpers (tokens, Uniswap
  V2/V3, Solidly pools, swaps, a ready-made market).
- :mod:`trading.chain.artifacts`: ABIs and bytecode (Uniswap npm packages, contracts/build).
"""
