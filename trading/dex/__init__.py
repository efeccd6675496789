"""Pool discovery and pool state per DEX family, on top of :mod:`trading.chain`.

- :mod:`trading.dex.base`: the ``DexFamily`` interface and its plain data
  (``DexInfo``, ``PoolSpec``, ``DiscoveredPool``, ``DiscoveryPage``).
- :mod:`trading.dex.uniswap_v2`, :mod:`trading.dex.uniswap_v3`,
  :mod:`trading.dex.solidly`: the families; :mod:`trading.dex.registry` maps
  ``Dex.kind`` to them.
- :mod:`trading.dex.reading`: ``read_states`` — any mix of pools in
  ``ceil(pools / 500)`` ``eth_call`` round trips.
- :mod:`trading.dex.manager`: ``DexManager``, the engine component holding one
  :mod:`trading.amm` snapshot per pool, updated from each block's logs.

Nothing here touches the database; services convert rows to and from these values.
"""
