"""Which Authentication-Results headers count (the city's server's own leading block)
and what passes (DMARC, or DKIM aligned with the From), on headers in hand."""

from __future__ import annotations

from hotline.tenants.channels.mail import parse_mail
from hotline.tenants.channels.mailauth import sender_verified, trusted_results

MTA = "mx.city.example"
RECEIVED = ("Received", "from mail.example.cn by mx.city.example; 30 Nov 2026")


def ar(results: str, server: str = MTA) -> tuple[str, str]:
    return ("Authentication-Results", f"{server}; {results}")


def verified(*headers: tuple[str, str], domain: str = "example.cn", froms: int = 1) -> bool:
    return sender_verified(list(headers), authserv_id=MTA, from_domain=domain, from_count=froms)


def test_the_servers_dmarc_pass_for_the_from_domain_passes() -> None:
    assert verified(("Return-Path", "<a@example.cn>"), ar("dmarc=pass header.from=example.cn"))
    assert not verified(ar("dmarc=pass"), RECEIVED)  # no header.from: which From passed?
    assert not verified(ar("dmarc=pass header.from=other.cn"))
    assert not verified(ar("dmarc=fail header.from=example.cn"))


def test_dkim_passes_only_aligned_with_the_from() -> None:
    assert verified(ar("dkim=pass header.d=example.cn"))
    assert verified(ar("dkim=pass header.d=example.cn"), domain="mail.example.cn")
    assert not verified(ar("dkim=pass header.d=mail.example.cn"))  # a child signs no parent
    assert not verified(ar("dkim=pass header.d=attacker.example"))
    assert not verified(ar("dkim=pass header.d=cn"))  # a bare top-level domain aligns nothing
    assert not verified(ar("dkim=fail header.d=example.cn; spf=pass smtp.mailfrom=example.cn"))


def test_only_the_servers_leading_block_counts() -> None:
    # the server's verdicts: several headers of its own, one after the other, on top
    assert verified(ar("dkim=none"), ar("dmarc=pass header.from=example.cn"), RECEIVED)
    # the sender's forgery below the server's own headers
    assert not verified(ar("dmarc=fail"), RECEIVED, ar("dmarc=pass header.from=example.cn"))
    # another server's verdict on top, ours below it
    assert not verified(ar("dmarc=pass", "mx.attacker.example"), ar("dmarc=pass"))
    # only another server's
    assert not verified(ar("dmarc=pass", "mx.attacker.example"), RECEIVED)
    # a header that does not parse ends the block
    assert not verified(("Authentication-Results", "; dmarc=pass"), ar("dmarc=pass"))
    assert trusted_results([ar("dmarc=pass")], "") == []  # no authserv-id configured


def test_a_mail_with_other_than_one_from_address_never_passes() -> None:
    assert not verified(ar("dmarc=pass header.from=example.cn"), froms=2)
    assert not verified(ar("dmarc=pass header.from=example.cn"), froms=0)
    assert not verified(ar("dmarc=pass"), domain="")


def test_a_from_the_parser_had_to_repair_counts_as_no_from() -> None:
    """ "victim@qq.com <attacker@qq.com>": the parser reads victim@qq.com, the MTA checked
    and the provider signed attacker@qq.com — a verdict for qq.com must not append it to
    the victim's ticket."""
    for value in (
        "victim@qq.com <attacker@qq.com>",
        '"a" <victim@qq.com> <a@evil.com>',
        "<victim@qq.com>@evil.com",
    ):
        mail = parse_mail(f"From: {value}\r\nSubject: JN1\r\n\r\nhi".encode())
        assert mail.from_count == 0, value
    legit = parse_mail(b"From: Zhang S. <z@qq.com>\r\nSubject: JN1\r\n\r\nhi")
    assert (legit.sender, legit.from_count) == ("z@qq.com", 1)  # obsolete, not repaired
