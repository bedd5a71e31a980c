"""Throughput and latency through the edge proxy versus straight to a gateway, in one run.

Starts a private dockerd (tests/engines.py), the edge proxy (Caddy, internal CA) made the
way the EdgeProxy component declares it, and one stand-in gateway (busybox httpd serving a
small file) that is also published on loopback for the direct baseline. ``wrk`` drives both
(small GET requests, the same connections and threads); the ratio is edge / direct. It also
times full TLS handshakes with the proxy (new connection each, no session reuse).

Run from the repository root, as root with dockerd, busybox-static and wrk installed::

    python -m bench.edge [--seconds 4] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import re
import socket
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from edge_rig import Edge, free_port, import_image
from engines import start_engines, stop_engines, unavailable_reason, wait_until

from components.edge_settings import EdgeSettings, Route
from components.naming import EDGE_NETWORK, GATEWAY_PORT, container_name

#: wrk puts the URL's host into SNI and Host, and only "localhost" resolves here; the edge's
#: settings refuse single-label names for real projects, so the bench builds its one route
#: without that check (``model_construct``).
NAME = "localhost"
BODY = "x" * 512


def _gateway(engine, image: str, direct_port: int) -> None:
    """A fast keep-alive stand-in (``caddy respond``), as Kong/Envoy are: busybox httpd forks
    per connection and would be the bottleneck on both paths, hiding the edge's cost."""
    engine.client.containers.run(
        image,
        command=["caddy", "respond", "--listen", f":{GATEWAY_PORT}", "--body", BODY],
        name=container_name("bench", "kong"),
        network=EDGE_NETWORK,
        ports={f"{GATEWAY_PORT}/tcp": ("127.0.0.1", direct_port)},
        detach=True,
    )


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return rps, p99


def handshakes(port: int, count: int) -> list[float]:
    """Seconds per full TLS handshake with the proxy (fresh context: no resumption)."""
    times = []
    for _ in range(count):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        start = time.perf_counter()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=NAME),
        ):
            times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per path")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    (engine,) = start_engines(1)
    try:
        image = import_image(engine)
        route = Route.model_construct(
            ref="bench", hosts=(NAME,), upstream=f"{container_name('bench', 'kong')}:8000",
            paused=False,
        )  # fmt: skip
        settings = EdgeSettings(
            httpPort=free_port(), httpsPort=free_port(), certificates={"mode": "internal"}
        ).model_copy(update={"routes": (route,)})
        edge = Edge(engine, image, settings)
        edge.create_shared()
        direct_port = free_port()
        _gateway(engine, image, direct_port)
        edge.start_proxy()
        edge.load(settings)
        edge_url = f"https://{NAME}:{settings.https_port}/index.html"
        direct_url = f"http://127.0.0.1:{direct_port}/index.html"

        def ready() -> bool:
            result = subprocess.run(["curl", "-skf", edge_url], capture_output=True)
            return result.returncode == 0

        wait_until("the edge serving the stand-in", ready, 60, every=0.5)
        wrk(direct_url, 2, args.connections)  # warm-up, both paths
        wrk(edge_url, 2, args.connections)
        # Alternating rounds, medians: the machine's load drifts, so neither path gets all
        # the quiet (or busy) moments.
        rounds = {"direct": [], "edge": []}
        for _ in range(args.rounds):
            rounds["direct"].append(wrk(direct_url, args.seconds, args.connections))
            rounds["edge"].append(wrk(edge_url, args.seconds, args.connections))
        direct_rps, direct_p99 = (statistics.median(v) for v in zip(*rounds["direct"], strict=True))
        edge_rps, edge_p99 = (statistics.median(v) for v in zip(*rounds["edge"], strict=True))
        tls = handshakes(settings.https_port, 50)
    finally:
        stop_engines([engine])
    print(
        f"small GET ({len(BODY)} B), {args.connections} connections, "
        f"median of {args.rounds} alternating {args.seconds}s runs per path:"
    )
    print(f"  direct (http, gateway port)  {direct_rps:10.0f} req/s  p99 {direct_p99:8.2f} ms")
    print(f"  edge   (https, Caddy, h1)    {edge_rps:10.0f} req/s  p99 {edge_p99:8.2f} ms")
    print(f"  throughput ratio edge/direct {edge_rps / direct_rps:.2f} (goal >= 0.8)")
    print(f"  p99 ratio edge/direct        {edge_p99 / direct_p99:.2f}")
    print(
        f"  TLS handshake (50 new connections): median {statistics.median(tls) * 1000:.2f} ms, "
        f"max {max(tls) * 1000:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
