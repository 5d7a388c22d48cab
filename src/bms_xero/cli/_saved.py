"""Settings ``bms-xero connect`` saves in the SQLite file, for the commands that follow.

After ``connect`` the app connection (``connection_id``), its client id and the organisation
chosen (``tenant_id``) are kept in the table ``bms_xero_cli_settings`` of the same file as the
tokens, so ``push``, ``pull`` and ``worker`` act for that connection without more settings.
They rank below every other source: a flag, an environment variable or the TOML file wins,
and a saved organisation is used only with the connection it was chosen for. ``disconnect``
removes them. Nothing secret is ever saved here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs

from bms_xero.cli._config import Settings
from bms_xero.cli._snapshots import COMPONENT, MIGRATIONS
from bms_xero.storage._sqlite import SQLiteFile

__all__ = ["SAVED", "SAVED_KEYS", "SavedSettings", "is_saved", "with_saved"]

TABLE: Final = "bms_xero_cli_settings"
#: The settings ``connect`` and ``connections --use`` save.
SAVED_KEYS: Final = ("client_id", "connection_id", "tenant_id")
#: How ``config`` names a saved setting's source.
SAVED: Final = "saved by bms-xero connect in"


class SavedSettings:
    """The saved settings of one SQLite file.

    Args:
        path: The database file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._db = SQLiteFile(
            path,
            owner="SavedSettings",
            component=COMPONENT,
            migrations=MIGRATIONS,
            timeout=5.0,
            synchronous="FULL",
            in_memory_hint="later commands must read the same file",
        )

    def close(self) -> None:
        """Close the connections. Idempotent."""
        self._db.close()

    def read(self) -> dict[str, str]:
        """Every saved setting."""
        with self._db.errors("read the saved settings"), self._db.connection() as conn:
            rows = conn.execute(f"SELECT name, value FROM {TABLE}").fetchall()  # noqa: S608
        return {str(name): str(value) for name, value in rows if name in SAVED_KEYS}

    def save(self, values: Mapping[str, str | None], *, now: datetime) -> None:
        """Save these settings at once; ``None`` removes one."""
        stamp = now.astimezone(UTC).isoformat(timespec="seconds")
        with self._db.transaction("save the settings", write=True) as conn:
            for name, value in values.items():
                if name not in SAVED_KEYS:
                    raise ValueError(f"{name} is not a setting connect saves")
                if value is None:
                    conn.execute(f"DELETE FROM {TABLE} WHERE name = ?", (name,))  # noqa: S608
                else:
                    conn.execute(
                        f"INSERT INTO {TABLE} (name, value, saved_at) VALUES (?, ?, ?) "  # noqa: S608
                        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                        "saved_at = excluded.saved_at",
                        (name, value, stamp),
                    )

    def __repr__(self) -> str:
        return f"SavedSettings({self._db.path!r})"


def is_saved(settings: Settings, name: str) -> bool:
    """Whether the setting's value came from the saved settings."""
    return settings.sources.get(name, "").startswith(SAVED)


def with_saved(settings: Settings) -> Settings:
    """``settings`` with what ``connect`` saved in its SQLite file filling the gaps.

    A file that does not exist yet is not created (and has nothing saved).
    """
    if settings.db is None or not Path(settings.db).expanduser().is_file():
        return settings
    store = SavedSettings(settings.db)
    try:
        saved = store.read()
    finally:
        store.close()
    if not saved:
        return settings
    origin = f"{SAVED} {settings.db}"
    changes: dict[str, Any] = {}
    sources = dict(settings.sources)
    for name in ("client_id", "connection_id"):
        if getattr(settings, name) is None and name in saved:
            changes[name] = saved[name]
            sources[name] = origin
    connection = changes.get("connection_id", settings.connection_id)
    if (
        settings.tenant_id is None
        and "tenant_id" in saved
        and connection == saved.get("connection_id")
    ):
        changes["tenant_id"] = saved["tenant_id"]
        sources["tenant_id"] = origin
    if not changes:
        return settings
    return attrs.evolve(settings, sources=sources, **changes)
