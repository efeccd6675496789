"""Row builders specific to the dashboard tests."""

from __future__ import annotations

from ..trading import factories as f


def cycle(market, start="weth", pools=None, **kwargs):
    """An opportunity WETH → USDC → WETH (or starting from ``start``) through two pools."""
    pools = pools if pools is not None else market["pools"][:2]
    token = market[start]
    opp = f.opportunity(token, pools=pools, **kwargs)
    # Rewrite the path so it reads start → other → start, whatever the pool order.
    other = market["usdc"] if start == "weth" else market["weth"]
    hops = [(token, other), (other, token)]
    opp.path = [
        {"pool": pool.address, "token_in": a.address, "token_out": b.address}
        for pool, (a, b) in zip(pools, hops, strict=False)
    ]
    opp.save(update_fields=["path"])
    return opp
