"""The release-dependent keys (release, gateway, logs, domains, gateway ports, ports per
release) and the defaults that work (email sign-up without SMTP)."""

from __future__ import annotations

import pytest
from settings_cases import load, problem


class TestRelease:
    def test_default_release_and_gateway(self) -> None:
        settings = load({"portSlot": "0"})
        assert (settings.release, settings.gateway, settings.gateway_service) == (
            "2024-04",
            "kong",
            "kong",
        )
        assert settings.logs is True

    @pytest.mark.parametrize("name", ["2025-01", "2026-9", "latest", "2024-04\n"])
    def test_unknown_release_lists_the_known_ones(self, name: str) -> None:
        message = problem({"release": name})
        assert "release must be '2024-04' or '2026-09'" in message
        assert "`pulumi config set release 2026-09`" in message

    def test_gateway_must_be_offered_by_the_release(self) -> None:
        assert "gateway 'envoy' is not offered by release 2024-04" in problem({"gateway": "envoy"})
        assert "gateway must be 'envoy' or 'kong'" in problem({"gateway": "nginx"})
        settings = load({"portSlot": "0", "release": "2026-09"})
        assert (settings.gateway, settings.gateway_service, settings.logs) == (
            "envoy",
            "api-gw",
            False,
        )
        assert load({"portSlot": "0", "release": "2026-09", "gateway": "kong"}).gateway == "kong"

    @pytest.mark.parametrize(("value", "expected"), [("true", True), ("False", False)])
    def test_logs_is_a_boolean(self, value: str, expected: bool) -> None:
        settings = load({"portSlot": "0", "release": "2026-09", "logs": value})
        assert settings.logs is expected
        assert settings.enabled("analytics") is expected
        assert "logs must be true or false, got 'on'" in problem({"logs": "on"})

    def test_ports_per_release(self) -> None:
        message = problem({"release": "2026-09", "ports": {"postgres": 5432}})
        assert "ports.postgres is not published by release 2026-09 (only by 2024-04)" in message
        assert "`pulumi config rm --path 'ports.postgres'`" in message
        message = problem({"ports": {"poolerSession": 6543}})
        assert "ports.poolerSession is not published by release 2024-04 (only by 2026-09)" in (
            message
        )
        settings = load(
            {"portSlot": "0", "release": "2026-09", "ports": {"poolerTransaction": 6543}}
        )
        assert settings.ports.pooler_transaction == 6543
        assert settings.ports.postgres is None

    def test_services_per_release(self) -> None:
        message = problem({"resources": {"supavisor": {"cpus": 1}}})
        assert "'supavisor' is not a service of release 2024-04" in message
        message = problem({"release": "2026-09", "images": {"kong": "kong:3.9"}})
        assert "'kong' is not a service of release 2026-09" in message
        assert "exclude lists 'analytics'" in problem(
            {"release": "2026-09", "exclude": ["analytics"]}
        )


class TestDomains:
    @pytest.mark.parametrize(
        "domain",
        [
            "API.example.com",
            "192.0.2.1",
            "-api.example.com",
            "api..example.com",
            "api.example.com.",
            "a" * 64 + ".example.com",
            ".".join(["a" * 60] * 5),
            "api_1.example.com",
            "https://api.example.com",
        ],
    )
    def test_domain_is_a_lowercase_host_name(self, domain: str) -> None:
        message = problem({"domain": domain})
        assert message.startswith("domain must be a DNS host name in lowercase")
        assert "`pulumi config set domain api.example.com`" in message

    def test_an_address_for_a_domain_is_told_apart(self) -> None:
        message = problem({"domain": "192.0.2.1"})
        assert "(labels of letters, digits and hyphens, at most 63 characters each" in message
        assert "253 in all), not an IP address, got '192.0.2.1'" in message

    def test_domain_sets_the_api_url_and_hides_the_gateway_ports(self) -> None:
        settings = load({"portSlot": "0", "domain": "api.example.com"})
        assert settings.api_external_url == "https://api.example.com"
        assert settings.publish_gateway_ports is False
        assert load({"portSlot": "0"}).publish_gateway_ports is True

    def test_custom_domains(self) -> None:
        settings = load(
            {"portSlot": "0", "domain": "a.example.com", "customDomains": ["b.example.org"]}
        )
        assert settings.custom_domains == ("b.example.org",)
        assert "must not list 'b.example.org' twice" in problem(
            {"domain": "a.example.com", "customDomains": ["b.example.org", "b.example.org"]}
        )
        assert "customDomains lists 'a.example.com', which is already `domain`" in problem(
            {"domain": "a.example.com", "customDomains": ["a.example.com"]}
        )
        assert "customDomains[0] must be a DNS host name" in problem({"customDomains": ["1.2.3.4"]})
        assert "customDomains need the project behind the edge proxy" in problem(
            {"customDomains": ["b.example.org"]}
        )

    def test_hidden_gateway_without_a_domain_is_refused(self) -> None:
        message = problem({"publishGatewayPorts": "false"})
        assert "nothing could reach the project's API" in message
        assert "`pulumi config set domain <host name>`" in message
        settings = load({"portSlot": "0", "domain": "a.example.com", "publishGatewayPorts": True})
        assert settings.publish_gateway_ports is True
        assert "publishGatewayPorts must be true or false" in problem({"publishGatewayPorts": "1"})


class TestEmailConfirmation:
    def test_without_smtp_sign_ups_confirm_themselves(self) -> None:
        assert load({"portSlot": "0"}).auth.email_autoconfirm is True

    def test_with_smtp_sign_ups_are_confirmed_by_mail(self) -> None:
        settings = load({"portSlot": "0", "smtp": {"host": "smtp.example.com"}})
        assert settings.auth.email_autoconfirm is False
        assert settings.smtp.host == "smtp.example.com"

    def test_an_explicit_value_wins(self) -> None:
        settings = load(
            {
                "portSlot": "0",
                "smtp": {"host": "smtp.example.com"},
                "auth": {"emailAutoconfirm": True},
            }
        )
        assert settings.auth.email_autoconfirm is True

    def test_confirmation_without_smtp_is_refused(self) -> None:
        message = problem({"auth": {"emailAutoconfirm": False}})
        assert "auth.emailAutoconfirm is false but no smtp.host is set" in message
        assert "`pulumi config set --path 'smtp.host' smtp.example.com`" in message

    @pytest.mark.parametrize("switch", [{"emailSignup": False}, {"disableSignup": True}])
    def test_no_mail_needed_when_email_sign_up_is_off(self, switch: dict) -> None:
        settings = load({"portSlot": "0", "auth": {"emailAutoconfirm": False, **switch}})
        assert settings.auth.email_autoconfirm is False

    @pytest.mark.parametrize(
        ("smtp", "message"),
        [
            ({"host": "smtp example"}, "smtp.host must be a DNS host name"),
            ({"adminEmail": "admin"}, "smtp.adminEmail must be an email address"),
            ({"adminEmail": "a b@example.com"}, "smtp.adminEmail must be an email address"),
            ({"adminEmail": "@example.com"}, "smtp.adminEmail must be an email address"),
            ({"adminEmail": "a" * 65 + "@example.com"}, "smtp.adminEmail must be an email"),
            ({"senderName": "Shop\r\nBcc: x"}, "smtp.senderName must be text without control"),
            ({"user": "x" * 257}, "smtp.user must have at most 256 characters"),
            ({"port": "587"}, "smtp.port must be a valid integer"),
        ],
    )
    def test_smtp_values(self, smtp: dict, message: str) -> None:
        found = problem({"smtp": smtp})
        assert message in found
        assert "`pulumi config set --path 'smtp." in found


OPTIONAL_2024 = "['analytics', 'functions', 'imgproxy', 'studio']"
OPTIONAL_2026 = "['functions', 'imgproxy', 'studio']"


@pytest.mark.parametrize(
    ("config", "start", "why", "fix"),
    [
        (
            {"gateway": "envoy"},
            "gateway 'envoy' is not offered by release 2024-04",
            "; it offers ['kong'];",
            "fix it with `pulumi config set gateway kong`",
        ),
        (
            {"publishGatewayPorts": "false"},
            "publishGatewayPorts is false and no domain is set",
            "so nothing could reach the project's API; set `pulumi config set domain <host name>` "
            "(served by the edge proxy), or ",
            "`pulumi config set publishGatewayPorts true`",
        ),
        (
            {"customDomains": ["b.example.org"]},
            "customDomains need the project behind the edge proxy",
            "behind the edge proxy, which serves `domain`; set it with ",
            "`pulumi config set domain <host name>`",
        ),
        (
            {"domain": "a.example.com", "customDomains": ["b.example.org", "a.example.com"]},
            "customDomains lists 'a.example.com', which is already `domain`",
            "; remove it with ",
            "`pulumi config rm --path 'customDomains[1]'`",
        ),
        (
            {"dockerHost": "tcp://engine.example.com:2376"},
            "dockerHost 'tcp://engine.example.com:2376' is a TCP engine, which needs TLS",
            "needs TLS: set `pulumi config set dockerCertPath <dir>` to a directory holding ca.pem,"
            " cert.pem and key.pem (",
            "(an engine on plain TCP is open to anyone who reaches the port)",
        ),
        (
            {"auth": {"emailAutoconfirm": False}},
            "auth.emailAutoconfirm is false but no smtp.host is set",
            "so GoTrue could not send the confirmation mail and every email sign-up would fail; "
            "set the mail server with `pulumi config set --path 'smtp.host' smtp.example.com` (and"
            " `pulumi config set --secret smtpPassword <password>`), or ",
            "remove `auth.emailAutoconfirm`",
        ),
        (
            {"exclude": ["studio", "vector"]},
            "exclude lists 'vector': vector goes with analytics",
            f": exclude analytics to drop both; only {OPTIONAL_2024} can be excluded; remove it ",
            "`pulumi config rm --path 'exclude[1]'`",
        ),
        (
            {"release": "2026-09", "exclude": ["vector"]},
            "exclude lists 'vector': vector goes with analytics",
            "drop both with `pulumi config set logs false`; "
            f"only {OPTIONAL_2026} can be excluded; remove it ",
            "`pulumi config rm --path 'exclude[0]'`",
        ),
        (
            {"release": "2026-09", "exclude": ["analytics"]},
            "exclude lists 'analytics': in this release the log pipeline is off",
            "is off unless `pulumi config set logs true`; only",
            "`pulumi config rm --path 'exclude[0]'`",
        ),
        (
            {"exclude": ["kong"]},
            "exclude lists 'kong': kong is required by every project",
            f"every project; only {OPTIONAL_2024} can be excluded",
            "`pulumi config rm --path 'exclude[0]'`",
        ),
        (
            {"exclude": ["redis"]},
            "exclude lists 'redis': 'redis' is not a service of release 2024-04",
            "2024-04; only",
            "`pulumi config rm --path 'exclude[0]'`",
        ),
    ],
)
def test_rules_between_settings_say_why_and_end_with_the_fix(
    config: dict, start: str, why: str, fix: str
) -> None:
    message = problem(config)
    assert message.startswith(start)
    assert why in message
    assert message.endswith(fix)


def test_an_invalid_stack_name_says_how_to_set_a_ref() -> None:
    message = problem({}, stack="Bad_Stack")
    assert message.startswith(
        "ref 'Bad_Stack' from the stack name (the default for ref) is not a valid project ref: "
        "use 1 to 63 lowercase letters"
    )
    assert message.endswith(
        "not starting or ending with a hyphen; fix it with `pulumi config set ref <ref>`"
    )
