"""Loads settings the way ``__main__.py`` does (the whole namespace at once), for the tests."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest

from components.settings import Settings, SettingsError, load_settings


def load(
    config: dict[str, object],
    *,
    stack: str = "shop",
    secret: Iterable[str] = (),
    other_keys: Iterable[str] = (),
) -> Settings:
    """Settings from ``config`` given as Pulumi hands it over: text, objects as JSON."""
    raw = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    secret = set(secret)
    return load_settings(
        raw, stack=stack, is_secret=secret.__contains__, other_keys=list(other_keys)
    )


def problem(config: dict[str, object], **kwargs: object) -> str:
    """The message ``load`` refuses ``config`` with (a slot is added when none is given)."""
    with pytest.raises(SettingsError) as raised:
        load({"portSlot": "0", **config}, **kwargs)  # type: ignore[arg-type]
    return str(raised.value)
