"""Every bad setting fails in ``load_settings``, naming the setting and the fix."""

from __future__ import annotations

import json

import pytest

from components.settings import (
    ALL_SERVICES,
    SecretValue,
    Settings,
    SettingsError,
    load_settings,
)


def load(
    config: dict[str, object], *, stack: str = "shop", secret: tuple[str, ...] = ()
) -> Settings:
    raw = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    return load_settings(raw, stack=stack, is_secret=lambda key: key in secret)


def test_defaults_for_a_minimal_stack() -> None:
    settings = load({"portSlot": "3"})
    assert settings.ref == "shop"
    assert (settings.ports.kong_http, settings.ports.kong_https, settings.ports.postgres) == (
        20030,
        20031,
        20032,
    )
    assert settings.api_external_url == "http://localhost:20030"
    assert settings.postgres_bind_address == "127.0.0.1"
    assert settings.kong_bind_address == "0.0.0.0"
    assert settings.enabled_services == frozenset(ALL_SERVICES)
    assert settings.jwt_expiry == 3600
    assert settings.file_size_limit == 52428800
    assert settings.api_key_lifetime_days == 3650
    assert settings.docker_host == "unix:///var/run/docker.sock"
    assert settings.paused is False


def test_ref_overrides_the_stack_name() -> None:
    assert load({"portSlot": "0", "ref": "billing-eu"}, stack="Prod_Stack").ref == "billing-eu"


@pytest.mark.parametrize(
    ("config", "stack", "names"),
    [
        ({"portSlot": "0"}, "Bad_Stack", "the stack name"),
        ({"portSlot": "0", "ref": "-shop"}, "shop", "ref"),
        ({"portSlot": "0", "ref": "shop-"}, "shop", "ref"),
        ({"portSlot": "0", "ref": "a" * 64}, "shop", "ref"),
        ({"portSlot": "0", "ref": "sh.op"}, "shop", "ref"),
    ],
)
def test_malformed_ref(config: dict, stack: str, names: str) -> None:
    with pytest.raises(SettingsError, match="a valid project ref") as raised:
        load(config, stack=stack)
    assert names in str(raised.value)
    assert "pulumi config set ref" in str(raised.value)


@pytest.mark.parametrize("slot", ["-1", "1.5", "abc", "1276", "99999"])
def test_bad_port_slot(slot: str) -> None:
    with pytest.raises(SettingsError, match="portSlot") as raised:
        load({"portSlot": slot})
    assert "pulumi config set portSlot" in str(raised.value)


def test_missing_port_slot_needs_every_port() -> None:
    with pytest.raises(SettingsError, match="portSlot is not set"):
        load({})
    with pytest.raises(SettingsError, match=r"missing: \['postgres'\]"):
        load({"ports": {"kongHttp": 8000, "kongHttps": 8443}})
    settings = load({"ports": {"kongHttp": 8000, "kongHttps": 8443, "postgres": 5432}})
    assert settings.ports.by_setting() == {"kongHttp": 8000, "kongHttps": 8443, "postgres": 5432}


def test_port_overrides_and_clashes() -> None:
    settings = load({"portSlot": "1", "ports": {"postgres": 5432}})
    assert settings.ports.by_setting() == {"kongHttp": 20010, "kongHttps": 20011, "postgres": 5432}
    with pytest.raises(SettingsError, match="kongHttps and postgres both use 20011"):
        load({"portSlot": "1", "ports": {"postgres": 20011}})
    with pytest.raises(SettingsError, match="ports.studio is not a setting of ports"):
        load({"portSlot": "1", "ports": {"studio": 3000}})
    with pytest.raises(SettingsError, match="ports.postgres must be less than or equal to 65535"):
        load({"portSlot": "1", "ports": {"postgres": 70000}})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kong", "kong is required"),
        ("vector", "exclude analytics to drop both"),
        ("redis", "'redis' is not a service"),
    ],
)
def test_exclude_rejects_what_cannot_be_left_out(name: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load({"portSlot": "0", "exclude": [name]})
    assert "['analytics', 'functions', 'imgproxy', 'studio']" in str(raised.value)


def test_excluding_analytics_takes_vector_with_it() -> None:
    settings = load({"portSlot": "0", "exclude": ["analytics", "studio"]})
    assert settings.enabled_services == frozenset(ALL_SERVICES) - {"analytics", "vector", "studio"}


def test_user_secrets_must_be_secret_long_enough_and_url_safe() -> None:
    jwt_secret = "j" * 40
    settings = load({"portSlot": "0", "jwtSecret": jwt_secret}, secret=("jwtSecret",))
    assert settings.jwt_secret == SecretValue(jwt_secret)
    assert jwt_secret not in repr(settings)
    assert "jwt_secret=SecretValue(***)" in repr(settings)  # set, and masked
    with pytest.raises(SettingsError, match=r"jwtSecret is too short \(31 characters, at least 32"):
        load({"portSlot": "0", "jwtSecret": "j" * 31}, secret=("jwtSecret",))
    with pytest.raises(SettingsError, match="jwtSecret is stored in plain text") as raised:
        load({"portSlot": "0", "jwtSecret": jwt_secret})
    assert "pulumi config set --secret jwtSecret" in str(raised.value)
    with pytest.raises(
        SettingsError,
        match=r"postgresPassword may only use letters, digits and \. _ ~ - \(it goes into "
        r"connection URLs\); set it with `pulumi config set --secret postgresPassword <value>`$",
    ):
        load(
            {"portSlot": "0", "postgresPassword": "p@ss/word:1234567"}, secret=("postgresPassword",)
        )
    with pytest.raises(SettingsError, match="dashboardPassword is too short"):
        load({"portSlot": "0", "dashboardPassword": "short"}, secret=("dashboardPassword",))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("siteUrl", "localhost:3000"),
        ("apiExternalUrl", "ftp://api.example.com"),
        ("apiExternalUrl", "https://"),
        ("additionalRedirectUrls", ["https://ok.example.com", "not a url"]),
    ],
)
def test_invalid_urls(key: str, value: object) -> None:
    with pytest.raises(SettingsError, match=key) as raised:
        load({"portSlot": "0", key: value})
    assert "URL" in str(raised.value)
    assert f"pulumi config set {'--path ' if isinstance(value, list) else ''}" in str(raised.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"images": {"gotrue": "x:1"}}, "images.gotrue is not a service of this program"),
        ({"images": {"auth": "Bad Image"}}, "images.auth must be an image reference"),
        ({"resources": {"cache": {"cpus": 1}}}, "resources.cache is not a service"),
        ({"resources": {"db": {"cpus": 0}}}, "resources.db.cpus must be a number of CPUs from"),
        ({"resources": {"db": {"memoryMb": 2}}}, "greater than or equal to 6"),
        ({"resources": {"db": {"memory": 2}}}, "did you mean `memoryMb`"),
        ({"dockerHost": "http://docker:2375"}, "dockerHost must be"),
        ({"dockerSocket": "run/docker.sock"}, "dockerSocket must be an absolute path"),
        ({"kongBindAddress": "everywhere"}, "kongBindAddress must be an IP address"),
        ({"paused": "yes"}, "paused must be true or false"),
        ({"jwtExpiry": "10"}, "jwtExpiry must be greater than or equal to 60"),
        ({"logMaxSize": "10 MB"}, "logMaxSize must be a size"),
        ({"smtp": {"host": "mail", "pass": "x"}}, "smtp.pass is not a setting of smtp"),
        ({"auth": {"signup": False}}, "auth.signup is not a setting of auth"),
        ({"exclude": "studio"}, "exclude must be a valid list"),
        ({"registryMirror": "https://mirror"}, "registryMirror must be"),
    ],
)
def test_other_bad_settings(config: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load({"portSlot": "0", **config})


def test_public_host_follows_a_remote_docker_host() -> None:
    settings = load({"portSlot": "2", "dockerHost": "ssh://deploy@db-host-7.internal"})
    assert settings.public_host == "db-host-7.internal"
    assert settings.api_external_url == "http://db-host-7.internal:20020"
