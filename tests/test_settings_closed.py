"""The stack config is closed: unknown keys and ``docker:*`` keys fail, naming the fix."""

from __future__ import annotations

import json
import re
import shlex

import pulumi
import pytest
from pulumi_harness import run_main
from settings_cases import load, problem

from components.settings import ENTRY_EXAMPLES, SettingsError, load_settings, runtime_config
from components.stack_config import KEYS, SECRET_KEYS, StackConfig


@pytest.mark.parametrize(
    ("key", "value", "suggestion"),
    [
        ("pause", "true", "paused"),
        ("portslot", "1", "portSlot"),
        ("jwtsecret", "x" * 40, "jwtSecret"),
        ("siteURL", "https://app.example.com", "siteUrl"),
        ("excludes", ["studio"], "exclude"),
        ("dockerhost", "unix:///run/docker.sock", "dockerHost"),
        ("apiExternalURL", "https://api.example.com", "apiExternalUrl"),
    ],
)
def test_misspelt_key_fails_naming_the_nearest_setting(
    key: str, value: object, suggestion: str
) -> None:
    message = problem({key: value})
    assert f"supabase:{key} is not a setting (did you mean `{suggestion}`?)" in message
    assert f"`pulumi config rm {key}`" in message


def test_a_key_like_no_setting_gets_no_guess() -> None:
    message = problem({"kubernetesNamespace": "x"})
    assert "supabase:kubernetesNamespace is not a setting;" in message
    assert "did you mean" not in message


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"smtp": {"hots": "mail.example.com"}},
            "smtp.hots is not a setting of smtp (did you mean `host`?)",
        ),
        (
            {"smtp": {"password": "x"}},
            "its keys are ['adminEmail', 'host', 'port', 'senderName', 'user'] (the SMTP "
            "password is the secret `smtpPassword`); remove it with",
        ),
        ({"auth": {"emailAutoConfirm": True}}, "did you mean `emailAutoconfirm`?"),
        (
            {"ports": {"kong_http": 8000}},
            "ports.kong_http is not a setting of ports (did you mean `kongHttp`?)",
        ),
        ({"resources": {"db": {"memory": 512}}}, "did you mean `memoryMb`?"),
    ],
)
def test_unknown_keys_inside_objects(config: dict, expected: str) -> None:
    message = problem(config)
    assert expected in message
    assert "`pulumi config rm --path '" in message


def test_every_unknown_key_is_reported_at_once() -> None:
    message = problem({"pause": "true", "excludes": ["studio"], "jwtExpiry": "1"})
    first, *items = message.splitlines()
    assert first == "3 settings need fixing:"
    assert len(items) == 3
    for part in ("`paused`", "`exclude`", "jwtExpiry must be greater than or equal to 60"):
        (item,) = [item for item in items if part in item]
        assert item.startswith("- ")
        assert "`pulumi config " in item  # each problem has its own fix command


def test_an_unknown_setting_points_at_the_list_of_settings() -> None:
    message = problem({"kubernetesNamespace": "x"})
    assert message.startswith("supabase:kubernetesNamespace is not a setting; remove it with ")
    assert message.endswith(
        "`pulumi config rm kubernetesNamespace` (the settings are listed in README.md and "
        "schema/stack-config.schema.json)"
    )


@pytest.mark.parametrize(("key", "kind"), [("images", "supabase/gotrue:v2"), ("resources", {})])
def test_an_unknown_service_is_named_with_the_services_to_use(key: str, kind: object) -> None:
    message = problem({key: {"gotrue": kind}})
    assert message.startswith(f"{key}.gotrue is not a service of this program: use 'vector', ")
    assert "'studio', 'supavisor' or 'api-gw'; remove it with " in message
    assert message.endswith(f"`pulumi config rm --path '{key}.gotrue'`")


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("docker:host", "dockerHost"),
        ("docker:certPath", "dockerCertPath"),
        ("docker:caMaterial", "dockerCertPath"),
        ("docker:sshOpts", "~/.ssh/config"),
        ("docker:registryAuth", "registryMirror"),
        ("docker:somethingNew", "dockerHost"),
    ],
)
def test_docker_namespace_keys_fail_naming_the_setting_to_use(key: str, instead: str) -> None:
    message = problem({}, other_keys=[key])
    assert message.startswith(
        f"{key} is not read by this program (it makes its own Docker provider from `supabase:` "
        "settings); use "
    )
    assert instead in message
    assert message.endswith(f", and remove it with `pulumi config rm {key}`")


def test_an_unknown_docker_key_is_pointed_at_every_engine_setting() -> None:
    message = problem({}, other_keys=["docker:somethingNew"])
    assert "; use the `dockerHost`, `dockerCertPath` and `dockerSocket` settings, and" in message


def test_other_namespaces_are_left_alone() -> None:
    settings = load({"portSlot": "0"}, other_keys=["aws:region", "pulumi:tags", "dockerx:y"])
    assert settings.ports.kong_http == 20000


def test_a_reader_is_asked_only_for_known_keys() -> None:
    asked: list[str] = []

    def read(key: str) -> str | None:
        asked.append(key)
        return {"portSlot": "2"}.get(key)

    settings = load_settings(read, stack="shop", is_secret=lambda key: False)
    assert settings.ports.kong_http == 20020
    assert {"portSlot", "paused", "release", "customDomains"} <= set(asked)


def test_the_program_reads_the_whole_runtime_config() -> None:
    """``__main__.py`` sees keys ``pulumi.Config`` would never ask for."""
    with pytest.raises(pulumi.RunError, match="did you mean `paused`") as raised:
        run_main({"portSlot": "0", "pause": "true"}, stack="dev")
    assert "supabase:pause" in str(raised.value)


def test_the_program_finds_secrets_in_the_runtime_config() -> None:
    secret = "s" * 40
    with pytest.raises(pulumi.RunError, match="jwtSecret is stored in plain text"):
        run_main({"portSlot": "0", "jwtSecret": secret}, stack="dev")
    result = run_main(
        {"portSlot": "0", "jwtSecret": secret}, stack="dev", secret_keys=["jwtSecret"]
    )
    assert result.outputs["jwtSecret"] == secret


def test_the_program_reads_the_language_hosts_environment(monkeypatch) -> None:
    """A real run hands the config over as PULUMI_CONFIG (and secret keys beside it)."""
    monkeypatch.setenv("PULUMI_CONFIG", '{"supabase:exlude": "[]"}')
    with pytest.raises(pulumi.RunError, match="did you mean `exclude`"):
        run_main({"portSlot": "0"}, stack="dev")


def test_a_secret_is_never_echoed() -> None:
    secret = "hunter2-but-short"
    with pytest.raises(SettingsError) as raised:
        load({"portSlot": "0", "jwtSecret": secret}, secret=["jwtSecret"])
    assert secret not in str(raised.value)
    assert "jwtSecret is too short (17 characters, at least 32 needed)" in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        load(
            {"portSlot": "0", "postgresPassword": "pass word 1234567"}, secret=["postgresPassword"]
        )
    assert "pass word" not in str(raised.value)
    assert "pulumi config set --secret postgresPassword" in str(raised.value)


FIX_PROBES = [
    {"smtp": "[1"},
    {"smtp": {"port": 0}},
    {"auth": "x"},
    {"ports": {"kongHttp": 0}},
    {"resources": {"db": 2}},
    {"resources": {"api-gw": {"cpus": 1}}},
    {"images": {"auth": "Bad Image"}},
    {"additionalRedirectUrls": ["https://a.example.com", "x"]},
    {"exclude": "studio"},
    {"customDomains": "a"},
    {"jwtSecret": "short"},
    {"siteUrl": "x"},
    {"pause": "true"},
    {"smtp": {"pass": "x"}},
]
PATH = r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[[0-9]+\]|\[\"[^\"]+\"\])*"


@pytest.mark.parametrize("config", FIX_PROBES)
def test_fix_commands_are_real_pulumi_commands(config: dict) -> None:
    commands = re.findall(r"`(pulumi config [^`]+)`", problem(config))
    assert commands
    for command in commands:
        words = shlex.split(command.replace("<value>", "x"))
        assert words[:2] == ["pulumi", "config"]
        assert words[2] in ("set", "rm")
        rest = words[3:]
        if "--secret" in rest:
            rest.remove("--secret")
        if "--path" in rest:
            rest.remove("--path")
            assert re.fullmatch(PATH, rest[0]), rest[0]
        key = re.match(r"[A-Za-z]+", rest[0])[0]  # type: ignore[index]
        assert key in KEYS or key in config
        assert len(rest) == (2 if words[2] == "set" else 1)


def test_runtime_config_splits_namespaces_and_finds_secret_keys(monkeypatch) -> None:
    monkeypatch.setenv(
        "PULUMI_CONFIG",
        '{"supabase:portSlot": "4", "supabase:jwtSecret": "j", "docker:host": "x", "aws:r": "y"}',
    )
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["supabase:jwtSecret"]')
    pulumi.runtime.set_all_config({"supabase:paused": "true"}, ["supabase:smtpPassword"])
    try:
        values, other_keys, secret_keys = runtime_config()
    finally:
        pulumi.runtime.set_all_config({}, [])
    assert values == {"portSlot": "4", "jwtSecret": "j", "paused": "true"}
    assert sorted(other_keys) == ["aws:r", "docker:host"]
    assert secret_keys == {"jwtSecret"}


def _pulumi_path(path: str) -> list[str | int]:
    """A ``--path`` key as Pulumi parses it: ``a.b``, ``a[0]``, ``a["b-c"]``."""
    parts = re.findall(r'(?:^|\.)([A-Za-z_$][A-Za-z0-9_$]*)|\[([0-9]+)\]|\["([^"]+)"\]', path)
    assert (
        "".join(
            f".{name}" if name else f"[{index}]" if index else f'["{key}"]'
            for name, index, key in parts
        ).lstrip(".")
        == path
    ), path
    return [name or key or int(index) for name, index, key in parts]


def _path_value(text: str) -> object:
    """What ``pulumi config set --path`` stores: true/false and whole numbers typed, the rest
    as text (pulumi/pulumi ``pkg/resource/config``, ``adjustObjectValue``)."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?[1-9][0-9]*|0", text):
        return int(text)
    return text


def run_fix(config: dict[str, object], command: str) -> dict[str, object]:
    """``config`` after a `pulumi config set|rm [--path]` command, as Pulumi would leave it."""
    words = shlex.split(command)
    assert words[:2] == ["pulumi", "config"] and "--secret" not in words, command
    action, path_flag, rest = words[2], "--path" in words, [w for w in words[3:] if w != "--path"]
    result = json.loads(json.dumps(config))
    if not path_flag:
        if action == "set":
            result[rest[0]] = rest[1]
        else:
            del result[rest[0]]
        return result
    *parents, last = _pulumi_path(rest[0])
    node = result
    for part in parents:
        node = node[part]
    if action == "rm":
        del node[last]
    elif isinstance(last, int) and last == len(node):
        node.append(_path_value(rest[1]))
    else:
        node[last] = _path_value(rest[1])
    return result


FIXABLE = [
    {"smtp": {"port": 0}},
    {"smtp": {"host": "smtp example"}},
    {"smtp": {"host": "smtp.example.com", "adminEmail": "admin"}},
    {"smtp": {"host": "smtp.example.com", "senderName": " Shop"}},
    {"smtp": {"host": "smtp.example.com", "user": "api\nkey"}},
    {"smtp": {"hots": "smtp.example.com"}},
    {"auth": {"disableSignup": "yes"}},
    {"auth": {"signup": False}},
    {"ports": {"kongHttp": 0}},
    {"ports": {"studio": 3000}},
    {"resources": {"db": {"cpus": 0}}},
    {"resources": {"db": {"cpus": 1.234}}},
    {"resources": {"db": {"memoryMb": 2}}},
    {"resources": {"db": {"memory": 512}}},
    {"resources": {"gotrue": {"cpus": 1}}},
    {"images": {"auth": "Bad Image"}},
    {"images": {"gotrue": "supabase/gotrue:v2"}},
    {"additionalRedirectUrls": ["https://a.example.com", "x"]},
    {"domain": "a.example.com", "customDomains": ["b.example.org", "1.2.3.4"]},
    {"exclude": [1]},
    {"jwtExpiry": "10"},
    {"apiKeyLifetimeDays": "0"},
    {"logMaxFiles": "101"},
    {"paused": "yes"},
    {"logs": "on"},
    {"publishGatewayPorts": "1"},
    {"siteUrl": "localhost:3000"},
    {"apiExternalUrl": "https://api.example.com/?a=1"},
    {"release": "2025-01"},
    {"gateway": "nginx"},
    {"kongBindAddress": "everywhere"},
    {"dockerHost": "http://docker:2375"},
    {"dockerSocket": "run/docker.sock"},
    {"logMaxSize": "10 MB"},
    {"restSchemas": "public, storage"},
    {"registryMirror": "https://mirror.example.com"},
    {"dashboardUsername": "ad min"},
    {"domain": "API.example.com"},
    {"studioProject": "Shop "},
    {"pause": "true"},
    {"portSlot": "1276"},
]


@pytest.mark.parametrize("config", FIXABLE)
def test_the_printed_fix_command_fixes_the_setting(config: dict) -> None:
    """Run the command the message gives, as Pulumi would store its value: the stack loads."""
    given = {"portSlot": "0", **config}
    (command,) = re.findall(r"`(pulumi config [^`]+)`", problem(config))
    load(run_fix(given, command))


@pytest.mark.parametrize("key", ["jwtSecret", "postgresPassword", "dashboardPassword"])
def test_a_bad_secret_is_fixed_with_a_secret_command(key: str) -> None:
    message = problem({key: "short"}, secret=[key])
    assert message.endswith(
        f"set it with `pulumi config set --secret {key} <value>`, or remove it to have one "
        "generated"
    )


@pytest.mark.parametrize(
    ("config", "fix"),
    [
        ({"studioProject": "Shop "}, "`pulumi config set studioProject 'Example Project'`"),
        ({"studioOrganization": "\tAcme"}, "`pulumi config set studioOrganization 'Example Org'`"),
        (
            {"smtp": {"senderName": "Shop\n"}},
            "`pulumi config set --path 'smtp.senderName' Example`",
        ),
        ({"paused": "yes"}, "`pulumi config set paused true`"),
    ],
)
def test_fix_values_are_written_as_the_shell_and_pulumi_take_them(config: dict, fix: str) -> None:
    """Text with spaces comes quoted, in its own case; booleans in Pulumi's lowercase."""
    assert problem(config).endswith(fix)


def test_every_plain_setting_has_an_example_for_its_fix_command() -> None:
    """A fix command shows a working value, never a placeholder, for every key set directly."""
    direct = [key for key in KEYS if key not in SECRET_KEYS and key not in ENTRY_EXAMPLES]
    assert "jwtExpiry" in direct
    missing = [
        key
        for key in direct
        if not next(f for f in StackConfig.model_fields.values() if f.alias == key).examples
    ]
    assert missing == []
