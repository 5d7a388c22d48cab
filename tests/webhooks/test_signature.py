"""Signature checks against known vectors, tampering, and the handshake's 200/401."""

from __future__ import annotations

import logging

import pytest

from bms_xero.errors import ConfigurationError, InvalidWebhook
from bms_xero.jobs import MemoryJobStore
from bms_xero.storage import MemoryStore
from bms_xero.webhooks import WebhookReceiver, handle, sign, verify_signature
from tests.webhooks._support import KEY

# Known vectors, each derived outside Python's hmac module:
# - RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?") is
#   5bdcc146...64ec3843 in the RFC; base64 of those bytes (`xxd -r -p | base64`).
# - The HMAC example on Wikipedia: key "key", "The quick brown fox jumps over the lazy dog",
#   hex f7bc83f4...2d1a3cd8; base64 of those bytes.
# - Xero's Intent to Receive probe and a non-ASCII body, with KEY: from
#   `printf '%s' BODY | openssl dgst -sha256 -hmac KEY -binary | base64`.
ITR = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
VECTORS = [
    ("Jefe", b"what do ya want for nothing?", "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="),
    (
        "key",
        b"The quick brown fox jumps over the lazy dog",
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=",
    ),
    ("key", b"", "XV0TlWPJW1lnub2ajJsjOp3ttFByeUzSMtwbdIMmB9A="),
    (KEY, ITR, "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II="),
    (KEY, "Kia ora, wēbhook — ✓".encode(), "234yOc6DvWiqIdXWOVrGDaQx0qDRTQdzR+2ZRtqiU/U="),
]


@pytest.mark.parametrize(("key", "body", "signature"), VECTORS)
def test_known_vectors_verify(key: str, body: bytes, signature: str) -> None:
    """Each known vector's signature is accepted, and is what sign() computes."""
    assert (True, signature) == (verify_signature(body, signature, key), sign(body, key))


@pytest.mark.parametrize(
    "body",
    [
        ITR.replace(b"S0m3", b"s0m3"),  # one character changed
        ITR + b"\n",  # a trailing newline added by a proxy
        ITR.replace(b",", b", "),  # re-serialised with spaces
        ITR[:-1],  # truncated
        b"",
    ],
    ids=["changed", "newline", "reserialised", "truncated", "empty"],
)
def test_a_tampered_body_is_refused(body: bytes) -> None:
    """Any change to the signed bytes makes the signature wrong."""
    assert False is verify_signature(body, "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II=", KEY)


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "   ",
        "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II",  # padding dropped
        "Kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II=",  # one letter's case
        "931d00ca08627042c21184b75c1770d81f6c320135af90e05fe8bbea4854f482",  # right, but hex
        "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9IIé",  # non-ASCII
        sign(ITR, KEY + "x"),  # another key
    ],
    ids=["none", "empty", "blank", "unpadded", "case", "hex", "non-ascii", "other-key"],
)
def test_a_wrong_signature_is_refused(signature: str | None) -> None:
    """Missing, altered, re-encoded or foreign signatures are all refused."""
    assert False is verify_signature(ITR, signature, KEY)


def test_surrounding_whitespace_and_bytes_are_accepted() -> None:
    """A header value with surrounding spaces, or given as bytes, still verifies."""
    good = "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II="
    assert (True, True) == (
        verify_signature(ITR, f"  {good} ", KEY),
        verify_signature(ITR, good.encode(), KEY),
    )


def test_a_decoded_body_is_a_type_error() -> None:
    """Passing the body as text (decoded, maybe altered) is refused loudly."""
    with pytest.raises(TypeError, match="raw request bytes"):
        verify_signature(ITR.decode(), "x", KEY)  # type: ignore[arg-type]


def test_an_empty_key_is_a_configuration_error() -> None:
    """A missing webhook key is a deployment mistake, not a bad request."""
    with pytest.raises(ConfigurationError, match="webhook key"):
        verify_signature(ITR, "x", "")


class TestHandshake:
    def test_a_good_signature_gets_200(self) -> None:
        """Xero's Intent to Receive probe with the right signature is answered 200, empty."""
        response = handle(ITR, "kx0AyghicELCEYS3XBdw2B9sMgE1r5DgX+i76khU9II=", KEY)
        assert (200, b"", True) == (response.status, response.body, response.ok)
        assert response.payload is not None and response.payload.is_intent_to_receive

    def test_a_bad_signature_gets_401(self) -> None:
        """The probe with a wrong signature is answered 401."""
        response = handle(ITR, sign(ITR, "not-the-key"), KEY)
        assert (401, None) == (response.status, response.payload)

    def test_the_signature_is_checked_before_the_body_is_read(self) -> None:
        """An unreadable body with a bad signature is a 401, not a 400."""
        assert 401 == handle(b"{not json", "bogus", KEY).status

    def test_a_signed_unreadable_body_gets_200(self) -> None:
        """A correctly signed body that is not a payload still gets 200 (a non-200 for 24
        hours disables the webhook), with the typed error instead of a payload."""
        response = handle(b"{not json", sign(b"{not json", KEY), KEY)
        assert (200, None, InvalidWebhook) == (
            response.status,
            response.payload,
            type(response.error),
        )

    def test_the_receiver_answers_the_probe_and_queues_nothing(self) -> None:
        """The receiver answers Xero's probe 200 (right key) or 401 (wrong key) and queues no
        pull for it, even when it knows which tenants it serves."""
        jobs = MemoryJobStore()
        receiver = WebhookReceiver(key=KEY, jobs=jobs, links=MemoryStore(), tenant_ids=["t"])
        good, bad = receiver(ITR, sign(ITR, KEY)), receiver(ITR, sign(ITR, "wrong"))
        assert [(200, None), (401, None)] == [(r.status, r.error) for r in (good, bad)]
        assert [] == jobs.list_jobs()


def test_the_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    """The webhook key appears in no repr and no log line, even for refused deliveries."""
    caplog.set_level(logging.DEBUG)
    receiver = WebhookReceiver(key=KEY, jobs=MemoryJobStore(), links=MemoryStore())
    good = sign(ITR, KEY)
    responses = [receiver(ITR, good), receiver(ITR, "bogus"), receiver(b"{", sign(b"{", KEY))]
    assert [200, 401, 200] == [r.status for r in responses]
    shown = repr(receiver) + repr(vars(receiver)) + caplog.text + repr(responses)
    assert (False, False) == (KEY in shown, good in shown)
