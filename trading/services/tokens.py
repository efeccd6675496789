"""Tokens: read their metadata from chain in batches and keep one row per address."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eth_utils import to_checksum_address

from trading.chain import readers
from trading.models import Network, Token
from trading.services.chain_access import ChainSession

logger = logging.getLogger(__name__)

METADATA_BATCH = 150
MAX_DECIMALS = 77


@dataclass
class TokenLookup:
    """Tokens by address, and the reason each unusable token was refused."""

    tokens: dict[str, Token] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def token_problem(metadata: readers.TokenMetadata) -> str | None:
    """Why a token cannot be traded (None when it can)."""
    label = metadata.symbol or metadata.address
    if metadata.decimals is None:
        return f"token {label} has no decimals()"
    if metadata.decimals > MAX_DECIMALS:
        return f"token {label} has {metadata.decimals} decimals"
    if not metadata.symbol:
        return f"token {metadata.address} has no readable symbol()"
    return None


def tokens_ensure(
    *, network: Network, addresses: Iterable[str], session: ChainSession
) -> TokenLookup:
    """Return a ``Token`` for every address, creating missing ones from on-chain metadata.

    Existing rows are used as they are (an operator may have renamed them).
    Tokens without ``decimals()`` or a readable symbol are not created; their
    reason is in ``problems``. Metadata costs one round trip per 150 new tokens;
    a batch that fails as a whole is split in halves down to single tokens, and
    a token that still fails alone is refused with the error as its reason.
    """
    wanted = {to_checksum_address(a) for a in addresses}
    lookup = TokenLookup()
    for token in Token.objects.filter(network=network, address__in=wanted):
        lookup.tokens[token.address] = token
    missing = sorted(wanted - set(lookup.tokens))
    new_tokens = []
    for start in range(0, len(missing), METADATA_BATCH):
        chunk = missing[start : start + METADATA_BATCH]
        for item in _read_metadata(chunk, session, lookup.problems):
            problem = token_problem(item)
            if problem:
                lookup.problems[item.address] = problem
                logger.info("token %s refused: %s", item.address, problem)
                continue
            assert item.symbol is not None and item.decimals is not None
            new_tokens.append(
                Token(
                    network=network,
                    address=item.address,
                    symbol=item.symbol[:32],
                    name=(item.name or "")[:128],
                    decimals=item.decimals,
                )
            )
    if new_tokens:
        Token.objects.bulk_create(new_tokens, ignore_conflicts=True)
        for token in Token.objects.filter(
            network=network, address__in=[t.address for t in new_tokens]
        ):
            lookup.tokens[token.address] = token
    return lookup


def _read_metadata(
    tokens: Sequence[str], session: ChainSession, problems: dict[str, str]
) -> list[readers.TokenMetadata]:
    """Metadata of ``tokens``, halving a failing batch; tokens failing alone go to ``problems``."""
    try:
        words = session.run(session.client.read(readers.token_metadata_call_data(tokens)))
        return readers.decode_token_metadata(words, tokens)[1]
    except readers.ReaderError as exc:
        if len(tokens) == 1:
            address = to_checksum_address(tokens[0])
            problems[address] = f"token {address} metadata unreadable: {exc}"
            logger.info("token %s refused: %s", address, problems[address])
            return []
        logger.info("metadata batch of %s tokens failed (%s); splitting it", len(tokens), exc)
    middle = len(tokens) // 2
    return _read_metadata(tokens[:middle], session, problems) + _read_metadata(
        tokens[middle:], session, problems
    )
