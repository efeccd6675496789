"""DEXs: register a factory on the active network, checked against the chain."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from trading.addresses import normalize_address
from trading.chain.client import RpcError
from trading.dex.registry import FAMILIES, family_class
from trading.dex.uniswap_v3 import find_deployment_block
from trading.models import Dex, Network
from trading.services.chain_access import ChainSession
from trading.services.networks import active_network_required

logger = logging.getLogger(__name__)

# A view function every factory of the kind answers: (signature, calldata).
_PROBES = {
    "uniswap_v2": ("allPairsLength()", "0x574f2ba3"),
    "solidly": ("allPoolsLength()", "0xefde4e64"),
    "uniswap_v3": ("feeAmountTickSpacing(uint24)", "0x22afcccb" + (500).to_bytes(32, "big").hex()),
    "slipstream": ("tickSpacingToFee(int24)", "0x380dc1c2" + (100).to_bytes(32, "big").hex()),
    "pancakeswap_v3": ("poolDeployer()", "0x3119049a"),
}


def dex_check_factory(*, session: ChainSession, kind: str, factory: str) -> int | None:
    """Check that ``factory`` is a deployed ``kind`` factory; return its deployment block for V3.

    Raises ``ValidationError`` naming what is wrong.
    """
    client = session.client
    code = session.run(client.request("eth_getCode", [factory, "latest"]))
    if code in (None, "", "0x"):
        raise ValidationError(f"There is no contract at {factory} on this network.")
    signature, calldata = _PROBES[kind]
    try:
        answer = session.run(
            client.request("eth_call", [{"to": factory, "data": calldata}, "latest"])
        )
    except RpcError:
        answer = "0x"
    if not answer or answer == "0x" or len(answer) < 66:
        raise ValidationError(
            f"The contract at {factory} does not answer {signature}: is it a {kind} factory?"
        )
    if family_class(kind).discovers_by_logs:
        return session.run(find_deployment_block(client, factory))
    return None


def dex_add(
    *,
    name: str,
    kind: str,
    factory: str,
    router: str = "",
    fee_bps: int | None = None,
    network: Network | None = None,
    offline: bool = False,
) -> tuple[Dex, bool]:
    """Register a DEX on the active network (or update the one with this name).

    The factory is checked on chain: it must hold code that answers the kind's
    factory interface; an unreachable network raises ``RpcUnavailableError``
    unless ``offline``, which skips the check. For V3 factories the deployment
    block becomes the discovery start block. Returns ``(dex, created)``.
    """
    network = network or active_network_required()
    name = name.strip()
    if not name:
        raise ValidationError("The DEX needs a name.")
    if kind not in FAMILIES:
        raise ValidationError(
            f"Unknown kind {kind!r}: choose one of {', '.join(sorted(FAMILIES))}."
        )
    factory = normalize_address(factory)
    router = normalize_address(router) if router else ""
    if fee_bps is not None and not 0 <= fee_bps <= 10_000:
        raise ValidationError("--fee-bps must be between 0 and 10000.")

    dex = Dex.objects.filter(network=network, name=name).first()
    created = dex is None
    if dex is not None and (dex.factory != factory or dex.kind != kind):
        raise ValidationError(
            f"DEX {name!r} already exists with {dex.kind} factory {dex.factory}. "
            "Use another name, or change it in admin."
        )
    other = Dex.objects.filter(network=network, factory=factory).exclude(name=name).first()
    if other is not None:
        raise ValidationError(f"Factory {factory} is already registered as {other.name!r}.")

    start_block = None
    if offline:
        # Discovery will fail loudly if the factory is wrong.
        logger.warning("factory %s registered offline, not checked", factory)
    else:
        with ChainSession.for_network(network) as session:
            start_block = dex_check_factory(session=session, kind=kind, factory=factory)

    with transaction.atomic():
        if dex is None:
            dex = Dex(network=network, name=name, kind=kind, factory=factory)
        dex.router = router
        if fee_bps is not None:
            dex.fee_bps = fee_bps
        if start_block is not None and created:
            dex.start_block = start_block
            dex.discovery_cursor = start_block
        dex.full_clean()
        dex.save()
    return dex, created
