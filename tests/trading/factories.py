"""Small builders for test rows (plain functions: no factory library needed)."""

from __future__ import annotations

import itertools

from trading.analysis.valuation import net_after_gas
from trading.models import Dex, Network, Opportunity, Pool, Token, Trade

_counter = itertools.count(1)


def address(n: int | None = None) -> str:
    n = next(_counter) if n is None else n
    return "0x" + f"{n:040x}"


def network(**kwargs) -> Network:
    defaults = {
        "name": f"testnet-{next(_counter)}",
        "chain_id": 31337,
        "rpc_urls": "http://127.0.0.1:8545",
    }
    defaults.update(kwargs)
    return Network.objects.create(**defaults)


def token(net: Network, symbol: str = "TKN", decimals: int = 18, **kwargs) -> Token:
    return Token.objects.create(
        network=net,
        symbol=symbol,
        decimals=decimals,
        address=kwargs.pop("address", address()),
        **kwargs,
    )


def dex(net: Network, name: str = "DexA", kind: str = "uniswap_v2", **kwargs) -> Dex:
    return Dex.objects.create(
        network=net, name=name, kind=kind, factory=kwargs.pop("factory", address()), **kwargs
    )


def pool(d: Dex, t0: Token, t1: Token, **kwargs) -> Pool:
    return Pool.objects.create(
        dex=d,
        token0=t0,
        token1=t1,
        fee=kwargs.pop("fee", 3000),
        address=kwargs.pop("address", address()),
        **kwargs,
    )


def opportunity(start: Token, *, pools=(), block: int = 1, **kwargs) -> Opportunity:
    path = [
        {"pool": p.address, "token_in": p.token0.address, "token_out": p.token1.address}
        for p in pools
    ]
    defaults = {
        "amount_in": 10**18,
        "expected_profit": 10**16,
        "gas_cost": 10**15,
        "net_profit": 9 * 10**15,
        "path": path,
        "cycle_key": kwargs.pop("cycle_key", f"cycle-{next(_counter)}"),
        "block_number": block,
    }
    defaults.setdefault("network", start.network)
    defaults.update(kwargs)
    opp = Opportunity.objects.create(start_token=start, **defaults)
    if pools:
        opp.pools.set(pools)
    return opp


def trade(opp: Opportunity, **kwargs) -> Trade:
    """A trade; its net profit after gas is worked out as the services do, unless given.

    Unless the test says otherwise a native coin is worth one WETH, or 3,000 of
    any other start token.
    """
    start = opp.start_token
    defaults = {
        "mode": "live",
        "status": "success",
        "realized_profit": 10**16,
        "gas_cost_wei": 10**14,
        "native_price": 10**18 if start.symbol == "WETH" else 3000 * 10**start.decimals,
    }
    defaults.update(kwargs)
    if "net_profit" not in kwargs and defaults["status"] != "pending":
        defaults["net_profit"] = net_after_gas(
            defaults["realized_profit"], defaults["gas_cost_wei"], defaults["native_price"]
        )
    return Trade.objects.create(opportunity=opp, **defaults)
