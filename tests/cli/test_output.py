"""The command's output: secrets are blanked by value, never in keys or in unrelated text."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bms_xero.cli._output import MIN_SECRET_LENGTH, REDACTED, Output
from bms_xero.errors import ConfigurationError

SECRET = "invoice_number-SECRET"  # also a plausible key and part of ordinary text


def output(*, json_mode: bool, secrets: list[str] | None = None) -> tuple[Output, io.StringIO]:
    stdout = io.StringIO()
    out = Output(
        json_mode=json_mode,
        verbose=False,
        stdout=stdout,
        stderr=io.StringIO(),
        secrets=[SECRET] if secrets is None else secrets,
    )
    return out, stdout


class TestJson:
    def test_values_are_redacted_and_keys_kept(self) -> None:
        """A string value equal to the secret or holding it is blanked; a key equal to the
        secret is left alone, as are numbers and other text."""
        out, stdout = output(json_mode=True)

        out.document(
            {
                SECRET: SECRET,
                "note": f"see {SECRET} here",
                "nested": [{"command": "jobs", "n": 5}],
            }
        )

        assert {
            SECRET: REDACTED,
            "note": f"see {REDACTED} here",
            "nested": [{"command": "jobs", "n": 5}],
        } == json.loads(stdout.getvalue())

    def test_a_secret_json_would_escape_is_still_redacted(self) -> None:
        """A secret with a quote or a backslash is blanked before encoding, where its
        escaped form would have slipped past a search of the encoded text."""
        secret = 'quote"and\\backslash-9f'
        out, stdout = output(json_mode=True, secrets=[secret])

        out.document({"message": f"refused {secret}"})

        assert ({"message": f"refused {REDACTED}"}, False) == (
            json.loads(stdout.getvalue()),
            "backslash-9f" in stdout.getvalue(),
        )

    def test_an_error_document_is_redacted_by_value(self) -> None:
        """An error's message holding the secret is blanked; the document's keys are not."""
        out, stdout = output(json_mode=True)

        status = out.error("bms-xero pull", ConfigurationError(f"bad {SECRET}"))

        error = json.loads(stdout.getvalue())["error"]
        assert (2, f"bad {REDACTED}", {"type", "message", "retryable", "exit_code"}) == (
            status,
            error["message"],
            set(error),
        )


class TestText:
    def test_whole_occurrences_are_redacted(self) -> None:
        """In text each occurrence of the secret is blanked, and the rest kept as it was."""
        out, stdout = output(json_mode=False)

        out.line(f"a {SECRET}b {SECRET}")

        assert f"a {REDACTED}b {REDACTED}\n" == stdout.getvalue()

    def test_a_too_short_secret_is_never_used(self) -> None:
        """A secret shorter than MIN_SECRET_LENGTH (which the settings refuse) does not blank
        ordinary letters."""
        out, stdout = output(json_mode=False, secrets=["o"])

        out.line("command done")

        assert "command done\n" == stdout.getvalue()


keys = st.text(min_size=1, max_size=20)
json_docs = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=15,
)
secrets = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]),
    min_size=MIN_SECRET_LENGTH,
    max_size=30,
)


def _with_secret(doc: Any, secret: str, where: int) -> Any:
    """``doc`` with ``secret`` put inside some of its string values."""
    if isinstance(doc, str):
        return doc + secret if where % 2 else doc
    if isinstance(doc, dict):
        return {k: _with_secret(v, secret, where + i) for i, (k, v) in enumerate(doc.items())}
    if isinstance(doc, list):
        return [_with_secret(v, secret, where + i) for i, v in enumerate(doc)]
    return doc


def _shape(doc: Any) -> Any:
    """The keys and non-string values of a document; strings as a placeholder."""
    if isinstance(doc, str):
        return str
    if isinstance(doc, dict):
        return {k: _shape(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_shape(v) for v in doc]
    return doc


@given(doc=st.dictionaries(keys, json_docs, max_size=5), secret=secrets, where=st.integers(0, 3))
def test_json_redaction_keeps_the_document_and_drops_the_secret(
    doc: dict[str, Any], secret: str, where: int
) -> None:
    """For any document and secret: the output parses to the same keys and non-string
    values, and no string value holds the secret."""
    seeded = _with_secret(doc, secret, where)
    out, stdout = output(json_mode=True, secrets=[secret])

    out.document(seeded)

    printed = json.loads(stdout.getvalue())
    strings: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(printed)
    assert (_shape(seeded), []) == (_shape(printed), [s for s in strings if secret in s])
