"""Xero's official OpenAPI spec, read from ../shared/xero-openapi, as a test oracle.

Nobody on this project wrote that spec, which is why payloads and responses are checked
against it. On a laptop without the folder, tests that need it skip, saying how to get it;
under CI (``CI`` set) they fail instead, because a CI run without the oracle would pass
without checking anything. Set BMS_XERO_SPEC_DIR to read it from elsewhere.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SPEC_DIR = Path(
    os.environ.get(
        "BMS_XERO_SPEC_DIR", Path(__file__).resolve().parents[2] / "shared" / "xero-openapi"
    )
)
ACCOUNTING = SPEC_DIR / "xero_accounting.yaml"
WEBHOOKS = SPEC_DIR / "xero-webhooks.yaml"


def require_spec() -> None:
    """Skip (or, under CI, fail) the calling test when the spec is not beside the repo."""
    if ACCOUNTING.exists():
        return
    reason = (
        f"Xero's OpenAPI spec not found at {ACCOUNTING}: put the shared/ folder beside the "
        "repository (../shared/xero-openapi) or set BMS_XERO_SPEC_DIR to its xero-openapi "
        "folder"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must check payloads against the spec, so this fails", False)
    pytest.skip(reason)


@functools.cache
def _load(path: Path) -> dict[str, Any]:
    import yaml

    class _Loader(yaml.SafeLoader):
        """A SafeLoader that keeps timestamps as strings, as JSON would."""

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    with path.open(encoding="utf-8") as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return loaded


def accounting() -> dict[str, Any]:
    """The accounting spec as a dict (skips the test if absent)."""
    require_spec()
    return _load(ACCOUNTING)


def webhooks() -> dict[str, Any]:
    """The webhooks spec as a dict (skips the test if absent)."""
    require_spec()
    return _load(WEBHOOKS)


@functools.cache
def _validator(schema_name: str, source: str) -> Any:
    from jsonschema import Draft4Validator, Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4, DRAFT202012

    # The accounting spec is OpenAPI 3.0 (draft-4 style schemas); the webhooks spec is 3.1,
    # whose schemas are JSON Schema 2020-12 (``const`` inside ``oneOf`` only works there).
    spec = _load(WEBHOOKS if source == "webhooks" else ACCOUNTING)
    newer = str(spec.get("openapi", "")).startswith("3.1")
    registry: Registry[Any] = Registry().with_resource(
        "urn:xero",
        Resource.from_contents(spec, default_specification=DRAFT202012 if newer else DRAFT4),
    )
    validator = Draft202012Validator if newer else Draft4Validator
    return validator({"$ref": f"urn:xero#/components/schemas/{schema_name}"}, registry=registry)


def validate(instance: Any, schema_name: str, *, source: str = "accounting") -> None:
    """Fail the test, naming every problem, if ``instance`` breaks components/schemas/NAME.

    ``instance`` should be JSON parsed with ``parse_float=Decimal`` (Decimal counts as a
    number for the validator).
    """
    require_spec()
    errors = sorted(_validator(schema_name, source).iter_errors(instance), key=str)
    if errors:
        listed = "\n".join(f"- {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
        pytest.fail(f"not a valid {schema_name} per Xero's spec:\n{listed}")


def response_examples(schema_name: str) -> Iterator[tuple[str, Any]]:
    """Every response example whose schema is components/schemas/NAME, with where it is."""
    spec = accounting()
    ref = f"#/components/schemas/{schema_name}"
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                for media in response.get("content", {}).values():
                    if media.get("schema", {}).get("$ref") != ref:
                        continue
                    where = f"{method.upper()} {path} {status}"
                    if "example" in media:
                        yield where, media["example"]
                    for name, example in media.get("examples", {}).items():
                        if "value" in example:
                            yield f"{where} ({name})", example["value"]
