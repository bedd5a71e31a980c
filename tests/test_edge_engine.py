"""The edge for real: Caddy on a private dockerd gets certificates from Pebble and routes by name.

No internet: Pebble (Debian's ``pebble``) is the ACME CA, pebble-challtestsrv its DNS (every
name resolves to 127.0.0.1, where the proxy's ports are published); stand-in gateways named
like real project gateways answer behind the proxy. Fails (never skips) under CI when a
prerequisite is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from edge_rig import (
    Edge,
    Pebble,
    bridge_gateway,
    curl,
    free_port,
    import_image,
    served_certificate,
    start_gateway,
    start_ws_gateway,
    wait_for,
)
from engines import start_engines, stop_engines, unavailable_reason

from components.edge_settings import EdgeSettings, Route
from components.naming import gateway_upstream

SHOP, BLOG, LIVE = "shop.edge.test", "blog.edge.test", "live.edge.test"


def _missing() -> str | None:
    reason = unavailable_reason()
    for tool in ("pebble", "pebble-challtestsrv", "curl"):
        if reason is None and shutil.which(tool) is None:
            reason = f"{tool} is missing (apt-get install pebble curl)"
    return reason


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Edge, Pebble, Path]]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real edge tests: {reason}", pytrace=False)
        pytest.skip(reason)
    (engine,) = start_engines(1)
    pebble = None
    try:
        image = import_image(engine)
        http_port, https_port = free_port(), free_port()
        edge = Edge(
            engine,
            image,
            EdgeSettings(
                httpPort=http_port, httpsPort=https_port, certificates={"mode": "internal"}
            ),
        )
        edge.create_shared()
        pebble = Pebble(tmp_path_factory.mktemp("pebble"), bridge_gateway(engine), http_port,
                        https_port)  # fmt: skip
        pebble.start()
        for ref in ("shop", "blog"):
            start_gateway(engine, image, ref)
        start_ws_gateway(engine, image, "live")
        edge.settings = _settings(edge.settings, pebble, ("shop", SHOP), ("blog", BLOG),
                                  ("live", LIVE))  # fmt: skip
        edge.start_proxy()
        edge.load(edge.settings)
        roots = tmp_path_factory.mktemp("roots") / "pebble-roots.pem"
        roots.write_text(pebble.issuing_roots())
        yield edge, pebble, roots
    except Exception:
        if pebble is not None:
            print(pebble.log_tail())
        print(engine.log_tail())
        raise
    finally:
        if pebble is not None:
            pebble.stop()
        stop_engines([engine])


def _settings(base: EdgeSettings, pebble: Pebble, *routes: tuple[str, str]) -> EdgeSettings:
    return base.model_copy(
        update={
            "certificates": base.certificates.model_copy(
                update={
                    "mode": "acme",
                    "email": "ops@edge.test",
                    "ca": pebble.directory,
                    "ca_root": pebble.api_ca_pem,
                }
            ),
            "routes": tuple(
                Route(ref=ref, hosts=(host,), upstream=gateway_upstream(ref, "kong"))
                for ref, host in routes
            ),
        }
    )


def _get(edge: Edge, roots: Path, name: str, path: str = "/cgi-bin/echo", *extra: str):
    return curl(name, edge.settings.https_port, path, ca=roots, extra=extra)


def _issued(edge: Edge, roots: Path, name: str) -> bool:
    """Whether the proxy presents a certificate for ``name`` that Pebble's roots verify.

    A handshake only: no request reaches the gateway (the websocket stand-in serves one
    client at a time).
    """
    context = ssl.create_default_context(cafile=str(roots))
    try:
        with (
            socket.create_connection(("127.0.0.1", edge.settings.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def test_certificates_from_the_test_ca_and_routing_by_name(rig) -> None:
    edge, _, roots = rig
    for name, ref in ((SHOP, "shop"), (BLOG, "blog")):
        wait_for(f"a certificate for {name}", lambda name=name: _issued(edge, roots, name))
        result = _get(edge, roots, name, "/cgi-bin/echo", "--http2")
        body, status = result.stdout.rsplit("\n", 1)
        assert status == "200 2", result  # verified against Pebble's root, over HTTP/2
        assert f"gateway={ref}" in body
        cert = served_certificate(name, edge.settings.https_port)
        assert "Pebble" in cert.issuer.rfc4514_string()
        names = cert.extensions.get_extension_for_class(x509_san()).value
        assert names.get_values_for_type(dns_name()) == [name]


def test_unknown_name_gets_no_certificate_and_no_route(rig) -> None:
    edge, _, roots = rig
    wait_for("shop's certificate", lambda: _issued(edge, roots, SHOP))
    result = _get(edge, roots, "other.edge.test")
    assert result.returncode != 0  # no certificate for the name: the handshake fails
    assert "gateway=" not in result.stdout
    # Even ignoring certificates, a name no project owns is refused with 421.
    insecure = curl(SHOP, edge.settings.https_port, "/cgi-bin/echo", ca=None,
                    extra=("-H", "Host: other.edge.test"))  # fmt: skip
    assert insecure.stdout.rsplit("\n", 1)[1].startswith("421"), insecure
    assert "gateway=" not in insecure.stdout


def test_forwarded_headers_as_storage_needs_them(rig) -> None:
    edge, _, roots = rig
    wait_for("shop's certificate", lambda: _issued(edge, roots, SHOP))
    spoofed = ("-H", "X-Forwarded-Host: evil.example", "-H", "X-Forwarded-Proto: http")
    body = _get(edge, roots, SHOP, "/cgi-bin/echo", *spoofed).stdout
    port = edge.settings.https_port
    assert "HTTP_X_FORWARDED_PROTO=https" in body
    assert f"HTTP_X_FORWARDED_HOST={SHOP}:{port}" in body
    assert f"HTTP_X_FORWARDED_PORT={port}" in body
    assert "HTTP_X_FORWARDED_FOR=127.0.0.1" in body or "HTTP_X_FORWARDED_FOR=" in body
    assert "evil.example" not in body


def test_large_upload_passes_without_a_body_limit(rig, tmp_path: Path) -> None:
    edge, _, roots = rig
    wait_for("shop's certificate", lambda: _issued(edge, roots, SHOP))
    upload = tmp_path / "upload.bin"
    size = 300 * 1024 * 1024
    with upload.open("wb") as out:
        out.truncate(size)
    result = _get(edge, roots, SHOP, "/cgi-bin/echo", "--data-binary", f"@{upload}",
                  "-H", "Content-Type: application/octet-stream")  # fmt: skip
    assert f"body={size}" in result.stdout, result


def test_websocket_upgrade_passes_both_ways(rig) -> None:
    edge, _, roots = rig
    wait_for("live's certificate", lambda: _issued(edge, roots, LIVE))
    context = ssl.create_default_context(cafile=str(roots))
    context.set_alpn_protocols(["http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", edge.settings.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=LIVE) as tls,
    ):
        tls.sendall(
            f"GET /realtime/v1/websocket HTTP/1.1\r\nHost: {LIVE}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += tls.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        tls.sendall(b"ping through the edge")
        echoed = b""
        while len(echoed) < len(b"ping through the edge"):
            echoed += tls.recv(4096)
        assert echoed == b"ping through the edge"


def test_certificates_survive_replacing_the_proxy(rig) -> None:
    edge, _, roots = rig
    wait_for("shop's certificate", lambda: _issued(edge, roots, SHOP))
    before = served_certificate(SHOP, edge.settings.https_port).serial_number
    edge.replace_proxy()
    # --resume brought the last loaded routes back from the volume, and the certificate
    # from storage: the same serial, no new order.
    assert _get(edge, roots, SHOP).returncode == 0
    assert served_certificate(SHOP, edge.settings.https_port).serial_number == before


def test_removing_a_project_removes_only_its_route(rig) -> None:
    edge, _pebble, roots = rig
    wait_for("shop's certificate", lambda: _issued(edge, roots, SHOP))
    wait_for("blog's certificate", lambda: _issued(edge, roots, BLOG))
    remaining = tuple(route for route in edge.settings.routes if route.ref != "blog")
    edge.load(edge.settings.model_copy(update={"routes": remaining}))
    assert [r["match"][0]["host"] for r in edge.admin_config()["apps"]["http"]["servers"]
            ["edge"]["routes"] if "match" in r] == [[SHOP], [LIVE]]  # fmt: skip
    assert "gateway=shop" in _get(edge, roots, SHOP).stdout
    gone = _get(edge, roots, BLOG)
    assert "gateway=blog" not in gone.stdout
    assert gone.returncode != 0 or gone.stdout.rsplit("\n", 1)[1].startswith("421")


def x509_san():
    from cryptography import x509

    return x509.SubjectAlternativeName


def dns_name():
    from cryptography import x509

    return x509.DNSName
