"""Whether a mail's From is the sender's own: the verdict of the city's mail server
(its ``Authentication-Results`` headers, RFC 8601), never the From header alone
(docs/channels.md, "E-mail"). Pure: headers in, a yes or no out.

Which headers count. Anyone can write an ``Authentication-Results`` header into the mail
they send, even one naming our server's authserv-id; the receiving server (MTA) adds
its own at the **top** of the header, above everything the sender wrote. So only the
leading block is read: starting at the first ``Authentication-Results`` header, the
consecutive ``Authentication-Results`` headers that carry the mailbox's configured
authserv-id. The block ends at the first other header (the MTA's own ``Received``
comes between its verdict and anything the sender wrote) or at a header of another
authserv-id; a first header of another authserv-id, or one that does not parse, means
no verdict at all. A mailbox with no authserv-id configured trusts nothing.

What passes: ``dmarc=pass`` for the From's domain, or ``dkim=pass`` whose signing
domain (``header.d``) is the From's domain or a parent of it (relaxed alignment); and
exactly one From address. Parsed with ``authres`` (the RFC 8601 parser dkimpy and
authheaders use).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import authres

HEADER = "authentication-results"


def _parsed(value: str) -> Any | None:
    try:
        return authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
    except (authres.AuthResError, ValueError, IndexError):
        return None


def trusted_results(headers: Sequence[tuple[str, str]], authserv_id: str) -> list[Any]:
    """The results of the MTA's own leading block of ``Authentication-Results`` headers
    (``headers`` in their order in the mail, top first)."""
    wanted = authserv_id.strip().lower()
    if not wanted:
        return []
    results: list[Any] = []
    started = False
    for name, value in headers:
        if name.strip().lower() != HEADER:
            if started:
                break
            continue
        started = True
        parsed = _parsed(" ".join(str(value).split()))
        if parsed is None or str(parsed.authserv_id).strip().lower() != wanted:
            break
        results.extend(parsed.results)
    return results


def _property(result: Any, ptype: str, name: str) -> str:
    for prop in result.properties:
        if prop.type == ptype and prop.name == name:
            return str(prop.value).strip().lower().rstrip(".")
    return ""


def _aligned(signer: str, domain: str) -> bool:
    return "." in signer and (domain == signer or domain.endswith("." + signer))


def sender_verified(
    headers: Sequence[tuple[str, str]], *, authserv_id: str, from_domain: str, from_count: int
) -> bool:
    """Did the city's MTA verify the From's domain (DMARC, or DKIM aligned with it)?"""
    domain = from_domain.strip().lower().rstrip(".")
    if from_count != 1 or not domain:
        return False
    for result in trusted_results(headers, authserv_id):
        method, verdict = str(result.method).lower(), str(result.result).lower()
        if verdict != "pass":
            continue
        # header.from must name the domain: a verdict that does not say which From it
        # checked cannot be matched to the address we read
        if method == "dmarc" and _property(result, "header", "from") == domain:
            return True
        if method == "dkim" and _aligned(_property(result, "header", "d"), domain):
            return True
    return False
