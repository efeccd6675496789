"""Keep secrets out of what the dashboard shows.

Error texts written by the engine can quote an RPC URL (whose path or query
often holds a provider API key) or, by accident, a configured secret. Before
any such text reaches a page or an event it passes through :func:`scrub`.
"""

from __future__ import annotations

import re

from listonian_site.log_filters import configured_secrets, secret_pattern

_REDACTED = "[redacted]"
# scheme://[user:pass@]host[:port][/path][?query]: keep the scheme and host only.
_URL = re.compile(
    r"(?P<scheme>(?:https?|wss?)://)(?:[^\s/@'\"<>]+@)?(?P<host>[^\s/:?#'\"<>]+)(?::\d+)?"
    r"(?P<rest>[^\s'\"<>)\]]*)",
    re.IGNORECASE,
)


def _shorten_url(match: re.Match[str]) -> str:
    rest = match.group("rest")
    suffix = "/…" if rest and rest != "/" else ""
    return f"{match.group('scheme')}{match.group('host')}{suffix}"


def scrub(text: str | None, *, limit: int = 500) -> str:
    """Return ``text`` without configured secrets or URL paths/credentials, cut to ``limit``."""
    if not text:
        return ""
    clean = str(text)
    pattern = secret_pattern(configured_secrets())
    if pattern is not None:
        clean = pattern.sub(_REDACTED, clean)
    clean = _URL.sub(_shorten_url, clean)
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return clean
