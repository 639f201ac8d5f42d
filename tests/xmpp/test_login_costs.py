"""What an endpoint costs before it talks: one TLS context shared by many endpoints (none
made only to be replaced), and SCRAM keys derived by hashlib with slixmpp's octets."""

from __future__ import annotations

import hashlib
import hmac
import ssl

import pytest

from gen61850.runtime.xmpp.scram import hi, python_hi
from gen61850.runtime.xmpp.transport import Endpoint, XmppSettings, trust_context


def test_endpoints_share_the_tls_context_they_are_given() -> None:
    shared = trust_context(None)
    one = Endpoint(XmppSettings(jid="a@x.test", password="p", tls_context=shared))
    two = Endpoint(XmppSettings(jid="b@x.test", password="p", tls_context=shared))
    assert one.ssl_context is shared and two.ssl_context is shared
    own = Endpoint(XmppSettings(jid="c@x.test", password="p"))
    assert own.ssl_context is not shared
    assert own.ssl_context.verify_mode is ssl.CERT_REQUIRED and own.ssl_context.check_hostname
    assert "tls_context" not in repr(one.settings)


class _Mechanism:
    """What slixmpp's SCRAM ``Hi`` uses of its mechanism: the hash and HMAC with it."""

    def __init__(self, hash_function: object) -> None:
        self.hash = hash_function

    def HMAC(self, key: bytes, msg: bytes) -> bytes:  # slixmpp's name
        return hmac.new(key, msg, self.hash).digest()  # type: ignore[arg-type]


@pytest.mark.parametrize("hash_function", [hashlib.sha1, hashlib.sha256, hashlib.sha512])
def test_scram_hi_gives_slixmpp_s_octets(hash_function: object) -> None:
    mechanism = _Mechanism(hash_function)
    salt = bytes.fromhex("4125c247e43ab1e93c6dff76")  # RFC 5802's salt
    for password, iterations in (("pencil", 4096), ("pâté", 1), ("x" * 70, 17)):
        ours = hi(mechanism, password.encode(), salt, iterations)
        theirs = python_hi()(mechanism, password.encode(), salt, iterations)
        assert ours == theirs
