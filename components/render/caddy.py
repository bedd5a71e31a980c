"""Caddy's JSON config for the edge proxy, as a pure function of the edge settings.

One HTTPS server routes each project's host names to that project's gateway container on
the shared edge network; every other name gets no certificate (on-demand TLS stays off) and
a 421 that closes the connection. Caddy's automatic HTTPS issues and renews certificates for
exactly the routed names and redirects plain HTTP on them to HTTPS.
"""

from __future__ import annotations

from typing import Any

from components.edge_settings import EdgeSettings

#: Where certificates, ACME account keys and the autosaved config live (a retained volume).
DATA_DIR = "/data"
#: Paths inside the proxy of the files it is given (written onto the data volume).
FILES_DIR = f"{DATA_DIR}/files"
CA_ROOT_PATH = f"{FILES_DIR}/acme-ca-root.pem"
#: Inside the container the proxy always listens on 80 and 443; the host ports map onto them.
HTTP_PORT = 80
HTTPS_PORT = 443
ADMIN_LISTEN = "localhost:2019"
#: Realtime's websockets stay open across config reloads for this long, and idle keep-alive
#: connections this long, so proxy reloads and quiet channels do not cut clients off.
STREAM_CLOSE_DELAY = "10m"
IDLE_TIMEOUT = "10m"
#: Idle upstream connections kept per gateway. Caddy's default (32) closes every connection
#: beyond 32 concurrent requests to one project once it is answered, so a busier project
#: reconnects to its gateway per request (bench/edge.py saw thousands of TIME-WAIT sockets
#: and ~15% less throughput at 128 clients); idle ones still close after Caddy's 2 minutes.
UPSTREAM_IDLE_CONNS = 256
MISDIRECTED = 421
PAUSED = 503


def cert_file_paths(index: int) -> tuple[str, str]:
    """Where the ``index``-th user-supplied certificate and key are written in the proxy."""
    return f"{FILES_DIR}/cert-{index}.pem", f"{FILES_DIR}/key-{index}.pem"


def render_caddy_config(
    settings: EdgeSettings, *, cert_files: int = 0, bootstrap: bool = False
) -> dict[str, Any]:
    """The whole Caddy config (a JSON-able dict).

    ``cert_files`` is how many user-supplied certificates are on disk (mode ``files``).
    ``bootstrap`` gives the config the proxy starts with before the first load: the same
    server with no routes, so an unconfigured proxy refuses every name.
    """
    routes = () if bootstrap else settings.routes
    hosts = [host for route in routes for host in route.hosts]
    https_server: dict[str, Any] = {
        "listen": [f":{HTTPS_PORT}"],
        # h3 needs UDP 443 published too; offering it unreachable only slows clients down.
        "protocols": ["h1", "h2"],
        "idle_timeout": IDLE_TIMEOUT,
        "routes": [_route(route, settings) for route in routes] + [_refuse()],
        # Names of the routes only: any other SNI finds no certificate.
        "tls_connection_policies": [{}],
    }
    automatic: dict[str, Any] = {}
    tls_app: dict[str, Any] = {}
    mode = settings.certificates.mode
    if mode == "files":
        tls_app["certificates"] = {
            "load_files": [
                {"certificate": cert, "key": key, "tags": ["user-supplied"]}
                for cert, key in map(cert_file_paths, range(cert_files))
            ]
        }
        # Never ask any CA for these names: the user's files cover them.
        automatic["skip_certificates"] = hosts
    elif hosts:
        tls_app["automation"] = {"policies": [{"subjects": hosts, "issuers": [_issuer(settings)]}]}
    if automatic:
        https_server["automatic_https"] = automatic
    config: dict[str, Any] = {
        "admin": {"listen": ADMIN_LISTEN},
        "storage": {"module": "file_system", "root": f"{DATA_DIR}/caddy"},
        "apps": {
            "http": {
                "http_port": HTTP_PORT,
                "https_port": HTTPS_PORT,
                "servers": {"edge": https_server},
            }
        },
    }
    if tls_app:
        config["apps"]["tls"] = tls_app
    return config


def _issuer(settings: EdgeSettings) -> dict[str, Any]:
    certificates = settings.certificates
    if certificates.mode == "internal":
        return {"module": "internal"}
    issuer: dict[str, Any] = {
        "module": "acme",
        "ca": certificates.ca,
        "email": certificates.email,
        # HTTP-01 on port 80 and TLS-ALPN-01 on 443; no DNS provider in stock Caddy.
        "challenges": {"http": {}, "tls-alpn": {}},
    }
    if certificates.ca_root:
        issuer["trusted_roots_pem_files"] = [CA_ROOT_PATH]
    return issuer


def _route(route: Any, settings: EdgeSettings) -> dict[str, Any]:
    """One project's hosts to its gateway, or a 503 while it is paused (the name stays)."""
    if route.paused:
        handler: dict[str, Any] = {
            "handler": "static_response",
            "status_code": PAUSED,
            "body": f"project {route.ref} is paused\n",
        }
    else:
        handler = {
            "handler": "reverse_proxy",
            "upstreams": [{"dial": route.upstream}],
            "transport": {
                "protocol": "http",
                "keep_alive": {"max_idle_conns_per_host": UPSTREAM_IDLE_CONNS},
            },
            # Stream responses (Realtime, server-sent events) instead of buffering them.
            "flush_interval": -1,
            "stream_close_delay": STREAM_CLOSE_DELAY,
            # Caddy sets X-Forwarded-For/-Proto/-Host and drops client-sent ones (no
            # trusted proxies); the public port is added so Storage builds upload URLs
            # that point back here.
            "headers": {"request": {"set": {"X-Forwarded-Port": [str(settings.https_port)]}}},
        }
    return {
        "group": "projects",
        "match": [{"host": list(route.hosts)}],
        "handle": [handler],
        "terminal": True,
    }


def _refuse() -> dict[str, Any]:
    """Any name no project owns: 421 Misdirected Request, and the connection is closed."""
    return {"handle": [{"handler": "static_response", "status_code": MISDIRECTED, "close": True}]}
