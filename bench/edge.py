"""Throughput and latency through the edge proxy versus straight to a gateway, in one run.

Starts a private dockerd (tests/engines.py), the edge proxy (Caddy, internal CA) made the
way the EdgeProxy component declares it, and one stand-in gateway that is also published on
loopback for the direct baseline. The stand-in is ``caddy respond``: it keeps connections
alive, as Kong and Envoy do, so the proxy reuses its upstream connections exactly as it will
in production (busybox httpd forks per connection and closes it, which would make both
paths measure fork and connect, not the proxy). ``wrk`` drives every path with the same
threads and connections (small GET requests, keep-alive); ratios are edge / direct.

Three pairs of rows, because on a small host three costs mix and the headline alone hides
which one dominates:

* published ports (the headline): both paths through their published loopback port. The
  test engines run with iptables off, so each published connection goes through
  docker-proxy, a userland copy loop that costs about as much CPU as the stand-in itself;
  the edge path pays it once, like the direct one.
* container addresses: the same requests to the containers' addresses on the edge network
  (the host reaches the bridge), without docker-proxy, so the ratio is the proxy's own cost.
* edge over plain HTTP (a second, unpublished listener with the same routes, loaded by the
  bench only): the difference to the HTTPS row is the TLS record cost.

The proxy, the stand-in, docker-proxy and wrk share the machine's cores: on 2 cores the
edge path runs two server processes (proxy and stand-in) where the direct path runs one,
so the edge path does at least twice the server work per request on the same CPUs and its
ratio stays well below 1 there whatever the proxy does. So the bench also prints the CPU
time the stand-in and the proxy spend per request on each path (from /proc, whatever else
the machine runs): that, not req/s on a shared machine, is the edge's cost. A real gateway
(Kong plugins, Envoy filters, then PostgREST or GoTrue behind it) spends far more per
request than ``caddy respond``, so in production the same proxy cost is a smaller share.
It also times full TLS handshakes with the proxy (new connection each, no resumption).

Run from the repository root, as root with dockerd, busybox-static and wrk installed::

    python -m bench.edge [--seconds 4] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from edge_rig import Edge, file_archive, free_port, import_image
from engines import start_engines, stop_engines, unavailable_reason, wait_until

from components.edge_settings import EdgeSettings, Route
from components.naming import EDGE_NETWORK, EDGE_PROXY, GATEWAY_PORT, container_name
from components.render.caddy import ADMIN_LISTEN, HTTPS_PORT, render_caddy_config

#: wrk puts the URL's host into SNI and Host, and only "localhost" resolves here; the edge's
#: settings refuse single-label names for real projects, so the bench builds its one route
#: without that check (``model_construct``).
NAME = "localhost"
BODY = "x" * 512
#: The bench-only plain-HTTP listener inside the proxy (not published).
PLAIN_PORT = 8080


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
    """Requests per second and p99 latency (ms) of one wrk run (Host names the one route)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {NAME}",
         url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return rps, p99


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _address(engine, name: str) -> str:
    """A container's address on the edge network (reachable from the host)."""
    container = engine.client.containers.get(name)
    return container.attrs["NetworkSettings"]["Networks"][EDGE_NETWORK]["IPAddress"]


def _with_plain_listener(config: dict) -> dict:
    """The product's config plus what only the bench needs: a plain-HTTP listener with the
    same routes (to separate TLS) and a fallback SNI, so a client dialling the proxy's
    address (no name to send) still gets the route's certificate."""
    server = config["apps"]["http"]["servers"]["edge"]
    server["tls_connection_policies"] = [{"fallback_sni": NAME}]
    config["apps"]["http"]["servers"]["plain"] = {
        "listen": [f":{PLAIN_PORT}"],
        "routes": server["routes"],
        "automatic_https": {"disable": True},
    }
    return config


def _reload(engine, config: dict) -> None:
    """Load ``config`` into the running proxy (``caddy reload`` inside its container)."""
    proxy = engine.client.containers.get(EDGE_PROXY)
    proxy.put_archive("/", file_archive({"/tmp/bench.json": json.dumps(config)}))
    result = proxy.exec_run(
        ["caddy", "reload", "--force", "--config", "/tmp/bench.json", "--address", ADMIN_LISTEN]
    )
    if result.exit_code != 0:
        raise RuntimeError(result.output.decode(errors="replace"))


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
        gateway_name = container_name("bench", "kong")
        route = Route.model_construct(
            ref="bench", hosts=(NAME,), upstream=f"{gateway_name}:{GATEWAY_PORT}",
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
        _reload(engine, _with_plain_listener(render_caddy_config(settings)))
        gateway, proxy = (_address(engine, name) for name in (gateway_name, EDGE_PROXY))
        # (label, direct URL, edge URL): each pair is compared in the same rounds.
        pairs = [
            (
                "published ports, edge https",
                f"http://127.0.0.1:{direct_port}/",
                f"https://{NAME}:{settings.https_port}/",
            ),
            ("container addresses, edge https", f"http://{gateway}:{GATEWAY_PORT}/",
             f"https://{proxy}:{HTTPS_PORT}/"),
            ("container addresses, edge http", f"http://{gateway}:{GATEWAY_PORT}/",
             f"http://{proxy}:{PLAIN_PORT}/"),
        ]  # fmt: skip

        def ready() -> bool:
            result = subprocess.run(["curl", "-skf", pairs[0][2]], capture_output=True)
            return result.returncode == 0

        wait_until("the edge serving the stand-in", ready, 60, every=0.5)
        urls = sorted({url for _, *both in pairs for url in both})
        for url in urls:  # warm-up, every path
            wrk(url, 1, args.connections)
        # Alternating rounds, medians: the machine's load drifts, so no path gets all the
        # quiet (or busy) moments.
        runs: dict[str, list[tuple[float, float]]] = {url: [] for url in urls}
        # CPU the proxy and the stand-in spend per request: unlike req/s, it does not depend
        # on what else the machine runs, and it is what the ratio is made of on a busy host.
        pids = {
            name: engine.client.containers.get(name).attrs["State"]["Pid"]
            for name in (gateway_name, EDGE_PROXY)
        }
        cpu = {url: dict.fromkeys(pids, 0.0) for url in urls}
        served = dict.fromkeys(urls, 0.0)
        for _ in range(args.rounds):
            for url in urls:
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                runs[url].append(wrk(url, args.seconds, args.connections))
                served[url] += runs[url][-1][0] * args.seconds
                for name, pid in pids.items():
                    cpu[url][name] += cpu_seconds(pid) - before[name]
        medians = {
            url: tuple(statistics.median(v) for v in zip(*results, strict=True))
            for url, results in runs.items()
        }
        tls = handshakes(settings.https_port, 50)
    finally:
        stop_engines([engine])
    print(
        f"small GET ({len(BODY)} B), {args.connections} connections, "
        f"median of {args.rounds} alternating {args.seconds}s runs per path:"
    )
    print(f"  {'':34s} {'direct req/s':>12s} {'edge req/s':>11s} {'ratio':>6s} {'p99 ms d/e':>15s}")
    for label, direct, through_edge in pairs:
        (d_rps, d_p99), (e_rps, e_p99) = medians[direct], medians[through_edge]
        print(
            f"  {label:34s} {d_rps:12.0f} {e_rps:11.0f} {e_rps / d_rps:6.2f} "
            f"{d_p99:7.2f}/{e_p99:<7.2f}"
        )
    print("  goal: edge >= 0.8 of direct throughput (first row)")
    print("  CPU per request, microseconds (stand-in gateway + proxy):")
    labels = {}
    for label, direct, through_edge in pairs:
        labels[direct] = f"direct, {label.split(',')[0]}"
        labels[through_edge] = f"edge, {label}"
    for url in urls:
        gateway_us, proxy_us = (cpu[url][name] / served[url] * 1e6 for name in pids)
        print(f"    {labels[url]:38s} {gateway_us:7.0f} + {proxy_us:7.0f}")
    print(
        f"  TLS handshake (50 new connections): median {statistics.median(tls) * 1000:.2f} ms, "
        f"max {max(tls) * 1000:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
