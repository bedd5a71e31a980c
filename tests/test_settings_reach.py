"""Every stack setting in README's table reaches the container input, provider argument or
output it is meant for, set to a non-default value through ``__main__.py``'s real config
path (``pulumi.runtime.set_all_config``, secret keys as secrets).

The probes are keyed by setting; a test compares them with README's table, so a setting
added to the table without a probe here fails the suite. (A probe for a key the program
does not read fails by itself: its checks cannot pass.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from pulumi_harness import ROOT, Registered, Run, env_of, is_secret, reveal, run_main

from components.releases import RELEASES


def readme_settings() -> set[str]:
    """The keys in the first column of README's stack configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Stack configuration", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 2:
            keys |= set(re.findall(r"`([A-Za-z][A-Za-z0-9]*)`", cells[1]))
    return keys


def containers(result: Run) -> dict[str, Registered]:
    return result.mocks.containers()


def env(result: Run, service: str) -> dict[str, str]:
    return env_of(containers(result)[service])


def inputs(result: Run, service: str) -> dict[str, Any]:
    return reveal(containers(result)[service].inputs)


def uploaded(result: Run, service: str, path: str) -> str:
    files = {u["file"]: u["content"] for u in inputs(result, service).get("uploads") or []}
    return files[path]


def kong_config(result: Run) -> dict[str, Any]:
    return yaml.safe_load(uploaded(result, "kong", "/home/kong/kong.yml"))


def images(result: Run) -> dict[str, str]:
    return {
        r.name.removesuffix("-image").split("-", 1)[1]: reveal(r.inputs["name"])
        for r in result.mocks.of_type(":RemoteImage")
    }


def provider(result: Run) -> dict[str, Any]:
    (found,) = result.mocks.of_type("providers:docker")
    return reveal(found.inputs)


def ports(result: Run, service: str) -> list[dict[str, Any]]:
    return inputs(result, service).get("ports") or []


def network(result: Run) -> str:
    (found,) = result.mocks.of_type(":Network")
    return reveal(found.inputs["name"])


def log_opt(result: Run, option: str) -> set[str]:
    """The values of one log option across all containers."""
    return {inputs(result, service)["logOpts"][option] for service in containers(result)}


def claims(result: Run) -> dict[str, Any]:
    return jwt.decode(result.outputs["anonKey"], result.outputs["jwtSecret"], algorithms=["HS256"])


@dataclass(frozen=True)
class Probe:
    """A non-default value for one setting and what it must change."""

    config: dict[str, Any]
    check: Callable[[Run], None]
    secret_keys: tuple[str, ...] = ()


def check_all(*checks: Callable[[Run], bool]) -> Callable[[Run], None]:
    def run_checks(result: Run) -> None:
        for number, check in enumerate(checks):
            assert check(result), f"check {number} failed"

    return run_checks


#: A TLS material folder (name only: the tests create it under their tmp_path).
CERT_DIR = "probe-certs"
CERT_FILES = {"ca.pem", "cert.pem", "key.pem"}
JWT_SECRET = "a-probe-jwt-secret-that-is-long-enough-1234"
POSTGRES_PASSWORD = "ProbePostgresPassword42"
DASHBOARD_PASSWORD = "ProbeDashboardPassword7"
SMTP_PASSWORD = "probe-smtp-password"
AUTH_FLAGS = {
    "disableSignup": ("GOTRUE_DISABLE_SIGNUP", True),
    "emailSignup": ("GOTRUE_EXTERNAL_EMAIL_ENABLED", False),
    "emailAutoconfirm": ("GOTRUE_MAILER_AUTOCONFIRM", True),
    "anonymousUsers": ("GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED", True),
    "phoneSignup": ("GOTRUE_EXTERNAL_PHONE_ENABLED", True),
    "phoneAutoconfirm": ("GOTRUE_SMS_AUTOCONFIRM", True),
}


def auth_flags_reach_gotrue(result: Run) -> bool:
    gotrue = env(result, "auth")
    return all(gotrue[var] == str(value).lower() for var, value in AUTH_FLAGS.values())


PROBES: dict[str, Probe] = {
    "ref": Probe(
        {"ref": "alpha-shop"},
        check_all(
            lambda r: (
                {inputs(r, s)["name"] for s in containers(r)}
                == {f"supabase-alpha-shop-{s}" for s in containers(r)}
            ),
            lambda r: (
                reveal(r.mocks.of_type(":Network")[0].inputs["name"]) == "supabase-alpha-shop"
            ),
            lambda r: r.outputs["ref"] == "alpha-shop",
        ),
    ),
    "portSlot": Probe(
        {"portSlot": 7},
        check_all(
            lambda r: [p["external"] for p in ports(r, "kong")] == [20070, 20071],
            lambda r: [p["external"] for p in ports(r, "db")] == [20072],
            lambda r: r.outputs["ports"]["postgres"] == 20072,
        ),
    ),
    "ports": Probe(
        {"ports": {"kongHttp": 31000, "kongHttps": 31001, "postgres": 31002}},
        check_all(
            lambda r: [p["external"] for p in ports(r, "kong")] == [31000, 31001],
            lambda r: [p["external"] for p in ports(r, "db")] == [31002],
        ),
    ),
    "kongBindAddress": Probe(
        {"kongBindAddress": "127.0.0.1"},
        check_all(lambda r: {p["ip"] for p in ports(r, "kong")} == {"127.0.0.1"}),
    ),
    "postgresBindAddress": Probe(
        {"postgresBindAddress": "0.0.0.0"},
        check_all(lambda r: {p["ip"] for p in ports(r, "db")} == {"0.0.0.0"}),
    ),
    "apiExternalUrl": Probe(
        {"apiExternalUrl": "https://api.example.com"},
        check_all(
            lambda r: env(r, "auth")["API_EXTERNAL_URL"] == "https://api.example.com",
            lambda r: env(r, "studio")["SUPABASE_PUBLIC_URL"] == "https://api.example.com",
            lambda r: r.outputs["apiUrl"] == "https://api.example.com",
        ),
    ),
    "siteUrl": Probe(
        {"siteUrl": "https://app.example.com"},
        check_all(lambda r: env(r, "auth")["GOTRUE_SITE_URL"] == "https://app.example.com"),
    ),
    "additionalRedirectUrls": Probe(
        {"additionalRedirectUrls": ["https://a.example.com/cb", "https://b.example.com/done"]},
        check_all(
            lambda r: (
                env(r, "auth")["GOTRUE_URI_ALLOW_LIST"]
                == "https://a.example.com/cb,https://b.example.com/done"
            )
        ),
    ),
    "smtp": Probe(
        {
            "smtp": {
                "host": "smtp.example.com",
                "port": 2525,
                "user": "mailer",
                "adminEmail": "admin@example.com",
                "senderName": "Shop",
            }
        },
        check_all(
            lambda r: (
                {k: env(r, "auth")[f"GOTRUE_SMTP_{k}"] for k in ("HOST", "PORT", "USER")}
                == {"HOST": "smtp.example.com", "PORT": "2525", "USER": "mailer"}
            ),
            lambda r: env(r, "auth")["GOTRUE_SMTP_ADMIN_EMAIL"] == "admin@example.com",
            lambda r: env(r, "auth")["GOTRUE_SMTP_SENDER_NAME"] == "Shop",
        ),
    ),
    "smtpPassword": Probe(
        {"smtpPassword": SMTP_PASSWORD},
        check_all(
            lambda r: env(r, "auth")["GOTRUE_SMTP_PASS"] == SMTP_PASSWORD,
            lambda r: is_secret(containers(r)["auth"].inputs["envs"]),
        ),
        secret_keys=("smtpPassword",),
    ),
    "auth": Probe(
        {"auth": {key: value for key, (_, value) in AUTH_FLAGS.items()}},
        check_all(auth_flags_reach_gotrue),
    ),
    "dashboardUsername": Probe(
        {"dashboardUsername": "operator"},
        check_all(
            lambda r: kong_config(r)["basicauth_credentials"][0]["username"] == "operator",
            lambda r: r.outputs["dashboardUsername"] == "operator",
        ),
    ),
    "dashboardPassword": Probe(
        {"dashboardPassword": DASHBOARD_PASSWORD},
        check_all(
            lambda r: kong_config(r)["basicauth_credentials"][0]["password"] == DASHBOARD_PASSWORD,
            lambda r: r.outputs["dashboardPassword"] == DASHBOARD_PASSWORD,
        ),
        secret_keys=("dashboardPassword",),
    ),
    "jwtSecret": Probe(
        {"jwtSecret": JWT_SECRET},
        check_all(
            lambda r: env(r, "rest")["PGRST_JWT_SECRET"] == JWT_SECRET,
            lambda r: env(r, "auth")["GOTRUE_JWT_SECRET"] == JWT_SECRET,
            lambda r: env(r, "db")["JWT_SECRET"] == JWT_SECRET,
            lambda r: jwt.decode(r.outputs["anonKey"], JWT_SECRET, algorithms=["HS256"]) != {},
        ),
        secret_keys=("jwtSecret",),
    ),
    "postgresPassword": Probe(
        {"postgresPassword": POSTGRES_PASSWORD},
        check_all(
            lambda r: env(r, "db")["POSTGRES_PASSWORD"] == POSTGRES_PASSWORD,
            lambda r: env(r, "meta")["PG_META_DB_PASSWORD"] == POSTGRES_PASSWORD,
            lambda r: f":{POSTGRES_PASSWORD}@" in r.outputs["dbUrl"],
        ),
        secret_keys=("postgresPassword",),
    ),
    "jwtExpiry": Probe(
        {"jwtExpiry": 7200},
        check_all(
            lambda r: env(r, "auth")["GOTRUE_JWT_EXP"] == "7200",
            lambda r: env(r, "db")["JWT_EXP"] == "7200",
            lambda r: env(r, "rest")["PGRST_APP_SETTINGS_JWT_EXP"] == "7200",
        ),
    ),
    "apiKeyLifetimeDays": Probe(
        {"apiKeyLifetimeDays": 30},
        check_all(lambda r: claims(r)["exp"] - claims(r)["iat"] == 30 * 86400),
    ),
    "fileSizeLimit": Probe(
        {"fileSizeLimit": 1048576},
        check_all(lambda r: env(r, "storage")["FILE_SIZE_LIMIT"] == "1048576"),
    ),
    "functionsVerifyJwt": Probe(
        {"functionsVerifyJwt": True},
        check_all(lambda r: env(r, "functions")["VERIFY_JWT"] == "true"),
    ),
    "imgproxyWebpDetection": Probe(
        {"imgproxyWebpDetection": False},
        check_all(lambda r: env(r, "imgproxy")["IMGPROXY_ENABLE_WEBP_DETECTION"] == "false"),
    ),
    "restSchemas": Probe(
        {"restSchemas": "public,api"},
        check_all(lambda r: env(r, "rest")["PGRST_DB_SCHEMAS"] == "public,api"),
    ),
    "studioOrganization": Probe(
        {"studioOrganization": "Acme"},
        check_all(lambda r: env(r, "studio")["DEFAULT_ORGANIZATION_NAME"] == "Acme"),
    ),
    "studioProject": Probe(
        {"studioProject": "Storefront"},
        check_all(lambda r: env(r, "studio")["DEFAULT_PROJECT_NAME"] == "Storefront"),
    ),
    "exclude": Probe(
        {"exclude": ["imgproxy", "studio"]},
        check_all(
            lambda r: not {"imgproxy", "studio"} & set(containers(r)),
            lambda r: not {"imgproxy", "studio"} & set(r.outputs["services"]),
            lambda r: env(r, "storage")["ENABLE_IMAGE_TRANSFORMATION"] == "false",
        ),
    ),
    "resources": Probe(
        {"resources": {"db": {"cpus": 2, "memoryMb": 1024}, "auth": {"cpus": 0.5}}},
        check_all(
            lambda r: (inputs(r, "db")["cpus"], inputs(r, "db")["memory"]) == ("2", 1024),
            lambda r: inputs(r, "db")["memorySwap"] == 2048,
            lambda r: inputs(r, "auth")["cpus"] == "0.5" and "memory" not in inputs(r, "auth"),
            lambda r: "cpus" not in inputs(r, "rest"),
        ),
    ),
    "images": Probe(
        {"images": {"auth": "registry.example.com/supabase/gotrue:v2.151.0"}},
        check_all(
            lambda r: images(r)["auth"] == "registry.example.com/supabase/gotrue:v2.151.0",
            lambda r: images(r)["rest"] == "postgrest/postgrest:v12.0.1",
        ),
    ),
    "registryMirror": Probe(
        {"registryMirror": "mirror.example.com/hub"},
        check_all(
            lambda r: images(r)["kong"] == "mirror.example.com/hub/library/kong:2.8.1",
            lambda r: images(r)["db"] == "mirror.example.com/hub/supabase/postgres:15.1.1.41",
        ),
    ),
    "dockerHost": Probe(
        {"dockerHost": "ssh://ops@engine-7.example.com"},
        check_all(
            lambda r: provider(r)["host"] == "ssh://ops@engine-7.example.com",
            lambda r: "@engine-7.example.com:20042/" in r.outputs["dbUrl"],
            lambda r: r.outputs["apiUrl"] == "http://engine-7.example.com:20040",
        ),
    ),
    "dockerCertPath": Probe(
        {"dockerHost": "tcp://engine-8.example.com:2376", "dockerCertPath": CERT_DIR},
        check_all(
            lambda r: Path(provider(r)["certPath"]).name == CERT_DIR,
            lambda r: {p.name for p in Path(provider(r)["certPath"]).iterdir()} >= CERT_FILES,
            lambda r: provider(r)["host"] == "tcp://engine-8.example.com:2376",
        ),
    ),
    "dockerSocket": Probe(
        {"dockerSocket": "/run/user/1000/docker.sock"},
        check_all(
            lambda r: (
                [m["source"] for m in inputs(r, "vector")["mounts"]]
                == ["/run/user/1000/docker.sock"]
            )
        ),
    ),
    "logs": Probe(
        {"logs": False},
        check_all(
            lambda r: not {"analytics", "vector"} & set(containers(r)),
            lambda r: "db" in containers(r),
            lambda r: env(r, "studio")["NEXT_PUBLIC_ENABLE_LOGS"] == "false",
        ),
    ),
    "domain": Probe(
        {"domain": "api.example.com"},
        check_all(
            lambda r: r.outputs["apiUrl"] == "https://api.example.com",
            lambda r: env(r, "auth")["API_EXTERNAL_URL"] == "https://api.example.com",
        ),
    ),
    "release": Probe(
        {"release": "2026-09"},
        check_all(
            lambda r: (
                set(containers(r))
                == set(RELEASES["2026-09"].services) - set(RELEASES["2026-09"].logs_services)
            ),
            lambda r: set(r.outputs["services"]) == set(containers(r)),
        ),
    ),
    "gateway": Probe(
        {"release": "2026-09", "gateway": "kong"},
        check_all(lambda r: images(r)["api-gw"].rsplit("/", 1)[-1].startswith("kong:")),
    ),
    "publishGatewayPorts": Probe(
        {"domain": "api.example.com", "publishGatewayPorts": False},
        check_all(lambda r: ports(r, "kong") == [], lambda r: "kong" in containers(r)),
    ),
    "customDomains": Probe(
        {"domain": "api.example.com", "customDomains": ["www.example.com"]},
        # The edge routes the name (edge stack); the project allows redirects to it.
        check_all(
            lambda r: (
                "https://www.example.com/**" in env(r, "auth")["GOTRUE_URI_ALLOW_LIST"].split(",")
            )
        ),
    ),
    "paused": Probe(
        {"paused": True},
        check_all(
            lambda r: containers(r) == {},
            lambda r: r.outputs["paused"] is True,
            lambda r: len(r.mocks.of_type(":Volume")) == 4,
        ),
    ),
    "logMaxSize": Probe(
        {"logMaxSize": "25m"},
        check_all(
            lambda r: {inputs(r, s)["logOpts"]["max-size"] for s in containers(r)} == {"25m"}
        ),
    ),
    "logMaxFiles": Probe(
        {"logMaxFiles": 5},
        check_all(lambda r: log_opt(r, "max-file") == {"5"}),
    ),
}


def test_every_setting_in_readme_has_a_probe() -> None:
    readme = readme_settings()
    assert len(readme) >= 30, "README's settings table was not found"
    assert not readme - set(PROBES), f"settings without a probe: {sorted(readme - set(PROBES))}"


def with_cert_dir(config: dict[str, Any], base: Path) -> dict[str, Any]:
    """``config`` with the probe's cert folder made real under ``base``."""
    if config.get("dockerCertPath") != CERT_DIR:
        return config
    folder = base / CERT_DIR
    folder.mkdir(exist_ok=True)
    for name in CERT_FILES:
        (folder / name).write_text("probe\n")
    return config | {"dockerCertPath": str(folder)}


@pytest.fixture(scope="module")
def default_project() -> Run:
    return run_main({"portSlot": 4}, stack="shop")


#: Settings the loader accepts whose effect another branch is wiring: strict, so the probe
#: fails the suite as soon as the setting reaches its target and the mark must go.
NOT_WIRED_YET: dict[str, str] = {}


def reach_params() -> list:
    return [
        pytest.param(key, marks=pytest.mark.xfail(reason=NOT_WIRED_YET[key], strict=True))
        if key in NOT_WIRED_YET
        else key
        for key in sorted(PROBES)
    ]


@pytest.mark.parametrize("setting", reach_params())
def test_setting_reaches_its_target(setting: str, tmp_path: Path) -> None:
    probe = PROBES[setting]
    config = with_cert_dir({"portSlot": 4} | probe.config, tmp_path)
    result = run_main(config, stack="shop", secret_keys=probe.secret_keys)
    probe.check(result)


@pytest.mark.parametrize("setting", sorted(PROBES))
def test_the_probe_fails_on_the_default_project(setting: str, default_project: Run) -> None:
    """Each probe tells its value from the default, so it can catch a setting that is lost."""
    with pytest.raises((AssertionError, KeyError, TypeError)):
        PROBES[setting].check(default_project)
