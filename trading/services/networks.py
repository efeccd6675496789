"""Networks: register a chain, its RPC endpoints and base tokens; choose the active one."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from trading.addresses import normalize_address
from trading.models import Network
from trading.services.chain_access import ChainSession
from trading.services.tokens import tokens_ensure


def active_network_required() -> Network:
    """The active network, or a ``ValidationError`` telling the operator how to set one."""
    network = Network.objects.active()
    if network is None:
        raise ValidationError(
            "There is no active network: run `manage.py add_network NAME --chain-id N "
            "--rpc-url URL --activate` first (or activate one in admin)."
        )
    return network


def network_add(
    *,
    name: str,
    chain_id: int,
    rpc_urls: Sequence[str],
    base_tokens: Sequence[str] = (),
    activate: bool = False,
    offline: bool = False,
) -> tuple[Network, bool]:
    """Register a network (or update the one with this name); return ``(network, created)``.

    Base tokens are read from chain through the given RPC URLs (after checking
    they serve ``chain_id``), so their symbol and decimals are right from the
    start. ``activate`` makes this the one network the engine works on. The
    endpoints must answer with ``chain_id`` (``RpcUnavailableError`` or
    ``ChainMismatchError`` otherwise) unless ``offline``, which skips the check.
    Raises ``ValidationError`` with a message for the operator on bad input.
    """
    name = name.strip()
    if not name:
        raise ValidationError("The network needs a name.")
    urls = [u.strip() for u in rpc_urls if u.strip()]
    addresses = [normalize_address(a) for a in base_tokens if a.strip()]

    network = Network.objects.filter(name=name).first()
    created = network is None
    if network is None:
        network = Network(name=name)
    elif network.chain_id != chain_id and (network.tokens.exists() or network.dexes.exists()):
        raise ValidationError(
            f"Network {name!r} already exists with chain id {network.chain_id} and has tokens "
            f"or DEXs; refusing to change it to {chain_id}. Use another name."
        )
    network.chain_id = chain_id
    network.rpc_urls = ",".join(urls)
    network.full_clean(exclude=["active"])

    if addresses and offline:
        raise ValidationError("Base tokens are read from the chain: drop --offline or them.")
    if not offline and not addresses:
        with ChainSession.for_network(network, urls=urls):
            pass  # opening the session checks the endpoints serve chain_id

    tokens = []
    if addresses:
        with ChainSession.for_network(network, urls=urls) as session, transaction.atomic():
            network.save()
            lookup = tokens_ensure(network=network, addresses=addresses, session=session)
            if lookup.problems:
                raise ValidationError(
                    "Cannot use as base token: " + "; ".join(lookup.problems.values())
                )
            tokens = [lookup.tokens[a] for a in addresses]

    with transaction.atomic():
        if activate:
            # One active network: the constraint needs the others switched off first.
            Network.objects.filter(active=True).exclude(pk=network.pk).update(active=False)
            network.active = True
        network.save()
        if tokens:
            network.base_tokens.add(*tokens)
    return network, created
