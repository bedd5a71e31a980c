"""Any JSON value for any key loads or raises SettingsError: never another exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.settings import SettingsError, load_settings
from components.stack_config import KEYS

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
#: Values near the accepted ones find more than random text does.
NEAR = st.sampled_from(
    [
        "0",
        "-1",
        "true",
        "1.5",
        "https://a.example.com#x",
        "tcp://[::1]:2376",
        "ssh://-x",
        "::",
        "2026-09",
        "envoy",
        "10m",
        '{"db": {"cpus": 0.005}}',
        '["studio", "studio"]',
        "a\n",
    ]
)


def text_of(value: object) -> str:
    """A value as Pulumi hands it to the program."""
    return value if isinstance(value, str) else json.dumps(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=12),
        st.one_of(JSON.map(text_of), NEAR),
        max_size=6,
    ),
    st.booleans(),
)
def test_random_values_load_or_fail_cleanly(config: dict[str, str], secret: bool) -> None:
    try:
        load_settings({"portSlot": "0", **config}, stack="shop", is_secret=lambda key: secret)
    except SettingsError as error:
        assert str(error)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS), JSON)
def test_each_key_with_typed_values(key: str, value: object) -> None:
    try:
        load_settings({"portSlot": 0, key: value}, stack="shop", is_secret=lambda key: True)
    except SettingsError as error:
        assert str(error)
