"""Every value has bounds and an exact form; each refusal names the setting and a real fix."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError
from settings_cases import load, problem

from components.setting_types import MAX_API_KEY_DAYS, HostName, UrlSafe, config_int, unique_list
from components.stack_config import MAX_SECRET, SECURE_VALUE, pattern, secret


class TestNumbers:
    @pytest.mark.parametrize(
        ("key", "low", "high", "ok"),
        [
            ("portSlot", "-1", "1276", "1275"),
            ("jwtExpiry", "59", "604801", "604800"),
            ("apiKeyLifetimeDays", "0", "36501", "36500"),
            ("fileSizeLimit", "0", str(500 * 1024**3 + 1), str(500 * 1024**3)),
            ("logMaxFiles", "0", "101", "100"),
        ],
    )
    def test_top_level_bounds(self, key: str, low: str, high: str, ok: str) -> None:
        assert "greater than or equal to" in problem({key: low})
        message = problem({key: high})
        assert f"{key} must be less than or equal to {ok}, got {int(high)}" in message
        assert f"`pulumi config set {key} " in message
        load({"portSlot": "0", key: ok})

    @pytest.mark.parametrize(
        "value", ["1.5", "ten", "3 ", "0x10", "1e3", "9" * 19, "99999999999999999999"]
    )
    def test_whole_numbers_only(self, value: str) -> None:
        assert "jwtExpiry must be a valid integer" in problem({"jwtExpiry": value})

    def test_eighteen_digits_are_still_read_as_a_number(self) -> None:
        """Text of up to 18 digits is a number (then out of range); longer text is not one."""
        assert "jwtExpiry must be less than or equal to 604800" in problem({"jwtExpiry": "9" * 18})
        assert "jwtExpiry must be greater than or equal to 60" in problem({"jwtExpiry": "-59"})

    def test_api_keys_expire_on_a_real_date(self) -> None:
        issued = datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)
        latest = issued + datetime.timedelta(days=MAX_API_KEY_DAYS)
        assert latest.year == 2126  # well inside datetime's range and every 64-bit clock

    @pytest.mark.parametrize(
        ("limits", "message"),
        [
            ({"memoryMb": 5}, "resources.db.memoryMb must be greater than or equal to 6"),
            ({"memoryMb": 1024 * 1024 + 1}, "less than or equal to 1048576"),
            ({"memoryMb": 512.5}, "resources.db.memoryMb must be a valid integer"),
            ({"memoryMb": "512"}, "resources.db.memoryMb must be a valid integer"),
            ({"memoryMb": True}, "resources.db.memoryMb must be a valid integer"),
            ({"cpus": 0}, "from 0.01 to 512"),
            ({"cpus": 512.01}, "from 0.01 to 512"),
            ({"cpus": 0.001}, "from 0.01 to 512"),
            ({"cpus": 1.234}, "multiple of 0.01"),
            ({"cpus": float("inf")}, "resources.db.cpus must be a number of CPUs from 0.01 to 512"),
            ({"cpus": float("nan")}, "resources.db.cpus must be a number of CPUs from 0.01 to 512"),
            ({"cpus": "two"}, "resources.db.cpus must be a valid number, got 'two'"),
            ({"cpus": "1.005"}, "multiple of 0.01"),
        ],
    )
    def test_resource_bounds(self, limits: dict, message: str) -> None:
        found = problem({"resources": {"db": limits}})
        assert message in found
        assert "`pulumi config set --path 'resources.db." in found

    @pytest.mark.parametrize("cpus", [0.01, 0.05, 1, 1.5, 10.0, 512])
    def test_cpus_in_hundredths_load(self, cpus: float) -> None:
        settings = load({"portSlot": "0", "resources": {"db": {"cpus": cpus}}})
        assert settings.resources["db"].cpus == cpus

    @pytest.mark.parametrize(("text", "cpus"), [("1.5", 1.5), ("0.25", 0.25), ("2", 2.0)])
    def test_cpus_as_text_load(self, text: str, cpus: float) -> None:
        """`pulumi config set --path 'resources.db.cpus' 1.5` stores "1.5" as text."""
        settings = load({"portSlot": "0", "resources": {"db": {"cpus": text}}})
        assert settings.resources["db"].cpus == cpus

    def test_smtp_port(self) -> None:
        assert "smtp.port must be less than or equal to 65535" in problem({"smtp": {"port": 65536}})
        assert "smtp.port must be greater than or equal to 1" in problem({"smtp": {"port": 0}})


class TestWholeStringPatterns:
    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("ref", "shop\n"),
            ("dashboardUsername", "admin\n"),
            ("restSchemas", "public\n"),
            ("logMaxSize", "10m\n"),
            ("registryMirror", "mirror.example.com\n"),
            ("domain", "api.example.com\n"),
            ("kongBindAddress", "127.0.0.1\n"),
            ("siteUrl", "https://app.example.com\n"),
            ("dockerSocket", "/var/run/docker.sock\n"),
            ("studioProject", "Shop\nProject"),
        ],
    )
    def test_a_trailing_newline_never_slips_through(self, key: str, value: str) -> None:
        message = problem({key: value})
        assert message.startswith(key)
        assert repr(value) in message

    @pytest.mark.parametrize(
        ("image", "ok"),
        [
            ("supabase/gotrue:v2.149.0", True),
            ("registry.example.com:5000/supabase/gotrue:v2", True),
            ("gotrue@sha256:" + "a" * 64, True),
            ("Supabase/gotrue", False),
            ("gotrue:v2\n", False),
            ("gotrue:", False),
            ("https://registry/gotrue", False),
        ],
    )
    def test_image_references(self, image: str, ok: bool) -> None:
        config = {"portSlot": "0", "images": {"auth": image}}
        if ok:
            assert load(config).image_overrides == {"auth": image}
        else:
            assert "images.auth must be an image reference" in problem(config)

    @pytest.mark.parametrize("value", ["public, storage", "public;drop", "", "1public", "public,"])
    def test_rest_schemas(self, value: str) -> None:
        if value == "":
            assert load({"portSlot": "0", "restSchemas": value}).rest_schemas.startswith("public")
        else:
            assert "restSchemas must be schema names" in problem({"restSchemas": value})

    @pytest.mark.parametrize("size", ["0m", "10 m", "10M", "2g", "1025m", "10mb"])
    def test_log_sizes(self, size: str) -> None:
        assert problem({"logMaxSize": size}).startswith("logMaxSize must be")

    def test_log_size_at_the_cap_loads(self) -> None:
        assert load({"portSlot": "0", "logMaxSize": "1g"}).log_max_size == "1g"


class TestUrls:
    @pytest.mark.parametrize(
        ("value", "why"),
        [
            ("https://app.example.com/#/home", "#fragment"),
            ("https://app.example.com/#", "#fragment"),
            ("https://app example.com", "without spaces"),
            ("https://app.example.com/\tx", "without spaces"),
            (" https://app.example.com", "without spaces"),
            ("https://app.example.com:0", "port from 1 to 65535"),
            ("https://app.example.com:65536", "port from 1 to 65535"),
            ("https://app.example.com:http", "port from 1 to 65535"),
            ("https://user:pw@app.example.com", "without user:password@"),
            ("https://app_example.com", "valid host name"),
            ("ftp://app.example.com", "http:// or https://"),
            ("https://", "http:// or https://"),
            ("localhost:3000", "http:// or https://"),
        ],
    )
    def test_bad_site_urls(self, value: str, why: str) -> None:
        message = problem({"siteUrl": value})
        assert message.startswith("siteUrl must be")
        assert why in message
        assert "`pulumi config set siteUrl https://app.example.com`" in message

    def test_api_url_is_a_base_without_query(self) -> None:
        assert "without a ?query" in problem({"apiExternalUrl": "https://api.example.com/?a=1"})
        settings = load({"portSlot": "0", "apiExternalUrl": "https://[2001:db8::1]:8443/"})
        assert settings.api_external_url == "https://[2001:db8::1]:8443"

    def test_redirect_urls_allow_wildcards_but_not_fragments(self) -> None:
        settings = load({"portSlot": "0", "additionalRedirectUrls": ["https://*.example.com/**"]})
        assert settings.additional_redirect_urls == ("https://*.example.com/**",)
        message = problem({"additionalRedirectUrls": ["https://ok.example.com", "https://x#y"]})
        assert "additionalRedirectUrls[1] must be a URL without a #fragment" in message
        assert "`pulumi config set --path 'additionalRedirectUrls[1]' " in message


class TestAddresses:
    @pytest.mark.parametrize(
        "address", ["224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255"]
    )
    def test_bind_addresses_are_unicast(self, address: str) -> None:
        message = problem({"kongBindAddress": address})
        assert "kongBindAddress must be a unicast address" in message

    @pytest.mark.parametrize("address", ["0.0.0.0", "::", "127.0.0.1", "::1", "10.1.2.3"])
    def test_all_addresses_and_unicast_load(self, address: str) -> None:
        assert load({"portSlot": "0", "postgresBindAddress": address}).postgres_bind_address == (
            address
        )

    @pytest.mark.parametrize("address", ["localhost", "1.2.3", "fe80::1%eth0", "127.0.0.1/8"])
    def test_not_an_address(self, address: str) -> None:
        assert problem({"postgresBindAddress": address}).startswith("postgresBindAddress must be")


class TestDockerHost:
    def test_tcp_needs_tls_material(self) -> None:
        message = problem({"dockerHost": "tcp://engine.example.com:2376"})
        assert "needs TLS" in message
        assert "`pulumi config set dockerCertPath <dir>`" in message

    def test_cert_path_must_hold_the_three_files(self, tmp_path: Path) -> None:
        host = {"dockerHost": "tcp://engine.example.com:2376"}
        missing = problem({**host, "dockerCertPath": str(tmp_path / "nowhere")})
        assert "dockerCertPath must be a directory that exists" in missing
        assert missing.endswith(
            "; fix it with `pulumi config set dockerCertPath <dir>` on the machine that runs Pulumi"
        )
        (tmp_path / "ca.pem").write_text("x")
        partial = problem({**host, "dockerCertPath": str(tmp_path)})
        assert "dockerCertPath must hold ca.pem, cert.pem, key.pem; missing: cert.pem, key.pem" in (
            partial
        )
        (tmp_path / "cert.pem").write_text("x")
        (tmp_path / "key.pem").write_text("x")
        settings = load({"portSlot": "0", **host, "dockerCertPath": str(tmp_path)})
        assert settings.docker_cert_path == str(tmp_path)
        assert settings.public_host == "engine.example.com"

    @pytest.mark.parametrize("host", [None, "unix:///run/docker.sock", "ssh://ops@engine"])
    def test_cert_path_without_a_tcp_engine_is_refused(
        self, tmp_path: Path, host: str | None
    ) -> None:
        for name in ("ca.pem", "cert.pem", "key.pem"):
            (tmp_path / name).write_text("x")
        given = {"dockerCertPath": str(tmp_path)} | ({"dockerHost": host} if host else {})
        message = problem(given)
        shown = repr(host) if host else "'(the local socket)'"
        assert message == (
            f"dockerCertPath is set but dockerHost {shown} is not a tcp:// engine, so the "
            "certificates would never be used; remove it with `pulumi config rm dockerCertPath`, "
            "or point dockerHost at the TLS engine with "
            "`pulumi config set dockerHost tcp://<host>:2376`"
        )

    @pytest.mark.parametrize(
        "host",
        ["ssh://-oProxyCommand=touch%20x@h", "ssh://-host", "ssh://user:pw@host"],
    )
    def test_ssh_hosts_that_ssh_would_misread(self, host: str) -> None:
        assert problem({"dockerHost": host}).startswith("dockerHost must not")

    @pytest.mark.parametrize(
        "host",
        [
            "http://docker:2375",
            "unix://relative.sock",
            "unix:///run/docker.sock\n",
            "unix:///run/docker .sock",
            "unix://engine/run/docker.sock",
            "unix:run/docker.sock",
            "ssh://deploy@engine\u00a0",
            "ssh://host/path",
            "tcp://engine:99999",
            "ssh://",
        ],
    )
    def test_malformed_hosts(self, host: str) -> None:
        message = problem({"dockerHost": host})
        assert message.startswith("dockerHost must")
        assert "`pulumi config set dockerHost " in message

    @pytest.mark.parametrize(
        ("host", "public"),
        [
            ("ssh://deploy@[2001:db8::7]", "[2001:db8::7]"),
            ("ssh://deploy@[2001:db8::7]:2222", "[2001:db8::7]"),
            ("ssh://deploy@192.0.2.7", "192.0.2.7"),
            ("unix:///run/user/1000/docker.sock", "localhost"),
        ],
    )
    def test_ipv6_hosts_are_bracketed_in_urls(self, host: str, public: str) -> None:
        settings = load({"portSlot": "1", "dockerHost": host})
        assert settings.public_host == public
        assert settings.api_external_url == f"http://{public}:20010"

    @pytest.mark.parametrize("path", ["run/docker.sock", "/run/docker.sock:ro", "/a,b"])
    def test_socket_paths(self, path: str) -> None:
        assert problem({"dockerSocket": path}).startswith("dockerSocket must be an absolute path")


class TestRegistryMirror:
    @pytest.mark.parametrize(
        "mirror",
        [
            "mirror.example.com/dockerhub:latest",
            "mirror.example.com/dockerhub@sha256:" + "a" * 64,
            "https://mirror.example.com",
            "mirror.example.com/Hub",
            "mirror.example.com//hub",
        ],
    )
    def test_no_scheme_tag_or_digest(self, mirror: str) -> None:
        message = problem({"registryMirror": mirror})
        assert message.startswith("registryMirror must be a registry host")

    @pytest.mark.parametrize(
        ("mirror", "kept"),
        [
            ("mirror.example.com", "mirror.example.com"),
            ("mirror.example.com:5000/dockerhub/", "mirror.example.com:5000/dockerhub"),
            ("10.0.0.5:5000", "10.0.0.5:5000"),
        ],
    )
    def test_hosts_with_paths_load(self, mirror: str, kept: str) -> None:
        assert load({"portSlot": "0", "registryMirror": mirror}).registry_mirror == kept


class TestLists:
    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"exclude": [[1]]}, "exclude[0] must be a valid string, got [1]"),
            ({"exclude": [None]}, "exclude[0] must be a valid string, got None"),
            ({"exclude": {"studio": True}}, "exclude must be a valid list"),
            ({"exclude": ["studio", "studio"]}, "exclude must not list 'studio' twice"),
            ({"additionalRedirectUrls": [1]}, "additionalRedirectUrls[0] must be a valid string"),
            (
                {"additionalRedirectUrls": ["https://a.example.com"] * 2},
                "must not list 'https://a.example.com' twice",
            ),
            ({"customDomains": "a.example.com"}, "customDomains must be a valid list"),
            ({"resources": []}, "resources must be a valid dictionary"),
            ({"resources": {"db": 2}}, "resources.db must be a valid dictionary"),
            ({"images": {"auth": ["x"]}}, "images.auth must be a valid string"),
            ({"ports": "8000"}, "ports must be a valid dictionary"),
            ({"smtp": "[1, 2"}, "smtp must be a valid dictionary"),
        ],
    )
    def test_malformed_structures_get_a_settings_error(self, config: dict, message: str) -> None:
        assert message in problem(config)


class TestTypeFactories:
    """The helpers that build the setting types, each used on its own here: the models call
    them once, at import, so the per-setting tests above cannot tell a helper's own slip."""

    def test_config_int_keeps_both_bounds_typed_or_as_text(self) -> None:
        adapter = TypeAdapter(config_int(2, 5))
        assert [adapter.validate_python(value) for value in (2, "2", 5, "+5")] == [2, 2, 5, 5]
        for value in (1, "1", 6, "6", True, 2.0, "2.0", " 3"):
            with pytest.raises(ValidationError):
                adapter.validate_python(value)
        assert adapter.json_schema() == {"type": "integer", "minimum": 2, "maximum": 5}

    def test_pattern_matches_the_whole_text_and_publishes_the_same_rule(self) -> None:
        adapter = TypeAdapter(pattern(r"[a-z]+|[0-9]{2}", "lowercase letters or two digits"))
        assert adapter.validate_python("abc") == "abc"
        assert adapter.validate_python("42") == "42"
        for value in ("abc1", "abc\n", "a42", "420"):
            with pytest.raises(ValidationError, match="must be lowercase letters or two digits"):
                adapter.validate_python(value)
        with pytest.raises(ValidationError, match="valid string"):
            adapter.validate_python(b"abc")  # strict: bytes are not text
        assert adapter.json_schema() == {"type": "string", "pattern": "^(?:[a-z]+|[0-9]{2})$"}

    def test_secret_has_its_length_bounds_extra_checks_and_a_secure_schema(self) -> None:
        adapter = TypeAdapter(secret(4, UrlSafe))
        assert adapter.validate_python("ab.d") == "ab.d"
        assert adapter.validate_python("a" * MAX_SECRET) == "a" * MAX_SECRET
        for value, why in [
            ("abc", "at least 4 characters"),
            ("a" * (MAX_SECRET + 1), f"at most {MAX_SECRET} characters"),
            ("ab/cd", "may only use letters, digits and . _ ~ -"),
            (b"abcd", "valid string"),
        ]:
            with pytest.raises(ValidationError, match=why):
                adapter.validate_python(value)
        assert adapter.json_schema() == SECURE_VALUE

    def test_unique_list_reads_json_text_and_refuses_repeats(self) -> None:
        adapter = TypeAdapter(unique_list(HostName))
        assert adapter.validate_python('["a.example.com", "b.example.com"]') == [
            "a.example.com",
            "b.example.com",
        ]
        with pytest.raises(ValidationError, match="must not list 'a.example.com' twice"):
            adapter.validate_python(["a.example.com", "a.example.com"])
        with pytest.raises(ValidationError, match="DNS host name"):
            adapter.validate_python(["A.example.com"])
        assert adapter.json_schema()["uniqueItems"] is True


REFUSALS = [
    (
        {"domain": "API.example.com"},
        (
            "domain must be a DNS host name in lowercase (labels of letters, digits and hyphens, "
            "at most 63 characters each, 253 in all), not an IP address, got 'API.example.com'"
        ),
    ),
    (
        {"kongBindAddress": "everywhere"},
        (
            "kongBindAddress must be an IP address such as 127.0.0.1, 0.0.0.0 (all addresses) or "
            "::, got 'everywhere'"
        ),
    ),
    (
        {"kongBindAddress": "224.0.0.1"},
        (
            "kongBindAddress must be a unicast address (not multicast or broadcast) to bind "
            "ports to, got '224.0.0.1'"
        ),
    ),
    (
        {"postgresBindAddress": "fe80::1%eth0"},
        "postgresBindAddress must be an address without a %zone, got 'fe80::1%eth0'",
    ),
    (
        {"siteUrl": "https://app example.com"},
        (
            "siteUrl must be a URL without spaces or control characters, got 'https://app "
            "example.com'"
        ),
    ),
    (
        {"siteUrl": "https://app.example.com:http"},
        (
            "siteUrl must be a URL with a valid host and a port from 1 to 65535, got "
            "'https://app.example.com:http'"
        ),
    ),
    (
        {"siteUrl": "ftp://app.example.com"},
        "siteUrl must be an http:// or https:// URL with a host, got 'ftp://app.example.com'",
    ),
    (
        {"siteUrl": "https://app.example.com/#x"},
        "siteUrl must be a URL without a #fragment, got 'https://app.example.com/#x'",
    ),
    (
        {"siteUrl": "https://u:p@app.example.com"},
        "siteUrl must be a URL without user:password@, got 'https://u:p@app.example.com'",
    ),
    (
        {"siteUrl": "https://app.example.com:0"},
        "siteUrl must be a URL with a port from 1 to 65535, got 'https://app.example.com:0'",
    ),
    (
        {"siteUrl": "https://[fe80::1%25eth0]:3000"},
        (
            "siteUrl must be a URL without an IPv6 %zone (browsers do not take one), got "
            "'https://[fe80::1%25eth0]:3000'"
        ),
    ),
    (
        {"siteUrl": "https://999.1.1.1"},
        (
            "siteUrl must be an http:// or https:// URL with a valid IPv4 address, got "
            "'https://999.1.1.1'"
        ),
    ),
    (
        {"siteUrl": "https://app_x.example.com"},
        (
            "siteUrl must be an http:// or https:// URL with a valid host name or IP address, "
            "got 'https://app_x.example.com'"
        ),
    ),
    (
        {"apiExternalUrl": "https://api.example.com/?a=1"},
        ("apiExternalUrl must be a base URL without a ?query, got 'https://api.example.com/?a=1'"),
    ),
    (
        {"dockerHost": "unix:///run/docker .sock"},
        (
            "dockerHost must be a URL without spaces or control characters, got "
            "'unix:///run/docker .sock'"
        ),
    ),
    (
        {"dockerHost": "tcp://engine:99999"},
        "dockerHost must have a port from 1 to 65535, got 'tcp://engine:99999'",
    ),
    (
        {"dockerHost": "unix://relative.sock"},
        (
            "dockerHost must be unix:///path/to/docker.sock, ssh://user@host or tcp://host:2376 "
            "(a unix socket takes an absolute path after unix://), got 'unix://relative.sock'"
        ),
    ),
    (
        {"dockerHost": "http://docker:2375"},
        (
            "dockerHost must be unix:///path/to/docker.sock, ssh://user@host or tcp://host:2376, "
            "got 'http://docker:2375'"
        ),
    ),
    (
        {"dockerHost": "ssh://host/path"},
        (
            "dockerHost must be unix:///path/to/docker.sock, ssh://user@host or tcp://host:2376 "
            "(no path, query or fragment), got 'ssh://host/path'"
        ),
    ),
    (
        {"dockerHost": "ssh://-host"},
        (
            "dockerHost must not have a host or user starting with '-' (ssh would read it as an "
            "option), got 'ssh://-host'"
        ),
    ),
    (
        {"dockerHost": "ssh://user:pw@host"},
        "dockerHost must not hold a password (use an ssh key), got 'ssh://user:pw@host'",
    ),
    (
        {"dockerHost": "ssh://de%20ploy@engine"},
        (
            "dockerHost must have an ssh user of letters, digits and _ . - (no %-escapes), got "
            "'ssh://de%20ploy@engine'"
        ),
    ),
    (
        {"dockerSocket": "run/docker.sock"},
        (
            "dockerSocket must be an absolute path without control characters, ':' or ',', got "
            "'run/docker.sock'"
        ),
    ),
    (
        {"images": {"auth": "registry.example.com:99999/gotrue:v1"}},
        (
            "images.auth must be an image reference like "
            "registry.example.com/supabase/gotrue:v2.149.0; the registry port must be from 1 to "
            "65535, got 'registry.example.com:99999/gotrue:v1'"
        ),
    ),
    (
        {"images": {"auth": "Bad Image"}},
        (
            "images.auth must be an image reference like "
            "registry.example.com/supabase/gotrue:v2.149.0, got 'Bad Image'"
        ),
    ),
    (
        {"registryMirror": "Mirror.example.com"},
        (
            "registryMirror must be a registry host in lowercase with an optional path, like "
            "mirror.example.com/dockerhub (no scheme, tag or digest), got 'Mirror.example.com'"
        ),
    ),
    (
        {"resources": {"db": {"cpus": 0}}},
        "resources.db.cpus must be a number of CPUs from 0.01 to 512, got 0",
    ),
    (
        {"resources": {"db": {"cpus": 1.234}}},
        (
            "resources.db.cpus must be a multiple of 0.01 (Docker reads finer values back "
            "differently), got 1.234"
        ),
    ),
    (
        {"logMaxSize": "10 MB"},
        "logMaxSize must be a size like 10m, 500k or 1g, got '10 MB'",
    ),
    (
        {"logMaxSize": "2g"},
        "logMaxSize must be at most 1g, got '2g'",
    ),
    (
        {"studioProject": "Shop\tX"},
        (
            "studioProject must be text without control or invisible characters (newlines, tabs, "
            "bidi marks), got 'Shop\\tX'"
        ),
    ),
    (
        {"studioProject": "Shop "},
        "studioProject must be text without leading or trailing spaces, got 'Shop '",
    ),
    (
        {"smtp": {"adminEmail": "admin"}},
        "smtp.adminEmail must be an email address like admin@example.com, got 'admin'",
    ),
    (
        {"smtp": {"adminEmail": "admin@Example.com"}},
        (
            "smtp.adminEmail must be an email address like admin@example.com (its domain in "
            "lowercase), got 'admin@Example.com'"
        ),
    ),
    (
        {"dashboardUsername": "ad min"},
        "dashboardUsername must be letters, digits and _ . @ - (1 to 64), got 'ad min'",
    ),
]


@pytest.mark.parametrize(("config", "refusal"), REFUSALS)
def test_a_refusal_states_the_whole_rule_then_what_was_given(config: dict, refusal: str) -> None:
    """The sentence is all a user has to go on: setting, the full rule, the value as given,
    then the command that fixes it."""
    message = problem(config)
    assert message.startswith(f"{refusal}; fix it with `pulumi config set ")


#: Host names of exactly 253 characters (the DNS limit) and of 254.
LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
TOO_LONG_HOST = LONGEST_HOST + "d"


class TestLengthLimits:
    def test_a_host_name_may_have_253_characters_not_254(self) -> None:
        assert len(LONGEST_HOST) == 253
        assert load({"portSlot": "0", "smtp": {"host": LONGEST_HOST}}).smtp.host == LONGEST_HOST
        assert "smtp.host must be a DNS host name" in problem({"smtp": {"host": TOO_LONG_HOST}})

    def test_a_url_host_may_have_253_characters_not_254(self) -> None:
        url = f"https://{LONGEST_HOST}"
        assert load({"portSlot": "0", "siteUrl": url}).site_url == url
        message = problem({"siteUrl": f"https://{TOO_LONG_HOST}"})
        assert message.startswith("siteUrl must be an http:// or https:// URL with a valid host")

    def test_registry_ports_run_from_1_to_65535(self) -> None:
        for port in (1, 65535):
            image = f"registry.example.com:{port}/supabase/gotrue:v2"
            assert load({"portSlot": "0", "images": {"auth": image}}).image_overrides["auth"] == (
                image
            )
        image = "registry.example.com:65536/supabase/gotrue:v2"
        assert "the registry port must be from 1 to 65535" in problem({"images": {"auth": image}})

    def test_an_image_reference_may_have_1024_characters(self) -> None:
        path = "/".join(["a" * 100] * 10)  # 1009 characters of repository path
        longest = f"registry.example.com/{path}"[:1024]
        assert len(longest) == 1024 and not longest.endswith("/")
        assert load({"portSlot": "0", "images": {"auth": longest}}).image_overrides["auth"]
        assert "must be an image reference" in problem({"images": {"auth": longest + "a"}})

    def test_a_registry_mirror_may_have_255_characters(self) -> None:
        longest = ("mirror.example.com/" + "/".join(["m" * 50] * 5))[:255]
        assert len(longest) == 255 and not longest.endswith("/")
        assert load({"portSlot": "0", "registryMirror": longest}).registry_mirror == longest
        assert "registryMirror must be a registry host" in problem(
            {"registryMirror": longest + "m"}
        )
