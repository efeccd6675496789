"""Everything that talks JSON-RPC.

- :mod:`trading.chain.client`: ``ChainClient`` (async; failover, retries, health,
  round-trip counts, chain id check) and ``resolve_rpc_urls``.
- :mod:`trading.chain.readers`: call data and decoding of the deployless batch
  readers in ``contracts/`` (pool states, token metadata, factory pool lists).
- :mod:`trading.chain.artifacts`: ABIs and bytecode (Uniswap npm packages, contracts/build).

The local chain used by tests, benchmarks and the demo lives in :mod:`trading.devchain`.
"""
