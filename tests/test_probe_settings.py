"""A reviewer's probes of the settings (issue 6): each was let through, or misdescribed, before.

Every refusal must name the setting, say what is wrong and give a ``pulumi config`` fix.
"""

from __future__ import annotations

import pytest
from settings_cases import load, problem

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # Invisible and control characters outside ASCII, in every kind of string setting.
        ({"studioOrganization": "Acme\u202eInc"}, "studioOrganization must be text without"),
        ({"studioProject": "Shop\u200b"}, "studioProject must be text without"),
        ({"studioOrganization": "Acme\x85Inc"}, "studioOrganization must be text without"),
        ({"studioProject": "Shop\u2028Two"}, "studioProject must be text without"),
        (
            {"smtp": {"host": "smtp.example.com", "senderName": "Shop\ufeff"}},
            "smtp.senderName must be text without",
        ),
        ({"smtp": {"host": "smtp.example.com", "user": "api\u2029key"}}, "smtp.user must be"),
        ({"siteUrl": "https://app.example.com/\u202etxt.exe"}, "siteUrl must be a URL without"),
        ({"apiExternalUrl": "https://api.example.com\u00a0"}, "apiExternalUrl must be a URL"),
        (
            {"additionalRedirectUrls": ["https://app.example.com/\u200b"]},
            "additionalRedirectUrls[0] must be a URL without",
        ),
        ({"dockerSocket": "/run/docker\u202e.sock"}, "dockerSocket must be an absolute path"),
        ({"dockerHost": "unix:///run/docker.sock\u2028"}, "dockerHost must be a URL without"),
        # Text that only looks like a name: blank, or padded.
        ({"studioOrganization": "   "}, "studioOrganization must be text without leading"),
        ({"studioProject": "Shop "}, "studioProject must be text without leading or trailing"),
        ({"smtp": {"host": "smtp.example.com", "senderName": " Shop"}}, "smtp.senderName"),
        # URL hosts that are not addresses at all.
        ({"siteUrl": "https://999.1.1.1"}, "siteUrl must be an http:// or https:// URL with a"),
        ({"apiExternalUrl": "http://10.0.0.1.2:8000"}, "valid IPv4 address"),
        ({"additionalRedirectUrls": ["https://256.0.0.1/cb"]}, "additionalRedirectUrls[0]"),
        ({"siteUrl": "https://[fe80::1%25eth0]:3000"}, "siteUrl must be a URL without an IPv6"),
        # Email addresses.
        ({"smtp": {"host": "smtp.example.com", "adminEmail": "a@@b.com"}}, "email address"),
        (
            {"smtp": {"host": "smtp.example.com", "adminEmail": "admin@example.com\n"}},
            "smtp.adminEmail must be an email address like admin@example.com (its domain",
        ),
        (
            {"smtp": {"host": "smtp.example.com", "adminEmail": "admin@Example.com"}},
            "smtp.adminEmail must be an email address",
        ),
        # IPv4-mapped multicast is still multicast.
        ({"kongBindAddress": "::ffff:224.0.0.1"}, "kongBindAddress must be a unicast"),
        ({"postgresBindAddress": "::ffff:255.255.255.255"}, "postgresBindAddress must be a"),
        # ssh users that are options in disguise, or not user names.
        ({"dockerHost": "ssh://%2DoProxyCommand=x@engine"}, "dockerHost must have an ssh user"),
        ({"dockerHost": "ssh://de%20ploy@engine"}, "dockerHost must have an ssh user"),
        ({"dockerHost": "ssh://deploy;id@engine"}, "dockerHost must have an ssh user"),
        # Registry ports out of range; a mirror in mixed case.
        ({"images": {"auth": "registry.example.com:99999/gotrue:v1"}}, "registry port"),
        ({"images": {"auth": "localhost:0/gotrue:v1"}}, "images.auth must be an image"),
        ({"registryMirror": "mirror.example.com:70000"}, "registryMirror must be a registry"),
        ({"registryMirror": "mirror.example.com:0/hub"}, "the registry port must be from 1"),
        ({"registryMirror": "Mirror.Example.com"}, "registryMirror must be a registry host in"),
        ({"registryMirror": f"mirror.example.com/hub@{DIGEST}"}, "no scheme, tag or digest"),
        # A schema listed twice.
        ({"restSchemas": "public,storage,public"}, "restSchemas must not list 'public' twice"),
    ],
)
def test_probe_is_refused_naming_the_setting_and_the_fix(config: dict, expected: str) -> None:
    message = problem(config)
    assert expected in message
    assert "pulumi config set" in message


@pytest.mark.parametrize(
    "config",
    [
        {"studioOrganization": "Société Générale"},
        {"studioProject": "日本のショップ"},
        {"siteUrl": "https://[2001:db8::1]:3000"},
        {"siteUrl": "http://192.168.1.10:3000"},
        {"registryMirror": "[::1]:5000/hub"},
        {"registryMirror": "localhost:5000"},
        {"images": {"auth": f"registry.example.com:443/supabase/gotrue:v2@{DIGEST}"}},
        {"dockerHost": "ssh://deploy.user-1@[2001:db8::7]:22"},
        {"smtp": {"host": "smtp.example.com", "adminEmail": "first.last+tag@example.com"}},
        {"smtp": {"host": "smtp.example.com", "adminEmail": "a" * 64 + "@example.com"}},
    ],
)
def test_real_values_of_the_same_kinds_still_pass(config: dict) -> None:
    load({"portSlot": "0", **config})
