"""Throughput and latency through the edge proxy versus straight to a gateway, in one run.

Starts a private dockerd (tests/engines.py), the edge proxy (Caddy, internal CA) made the
way the EdgeProxy component declares it, and one stand-in gateway that is also published on
loopback for the direct baseline. The stand-in is ``caddy respond``: it keeps connections
alive, as Kong and Envoy do, so the proxy reuses its upstream connections exactly as it will
in production (busybox httpd forks per connection and closes it, which would make both
paths measure fork and connect, not the proxy). ``wrk`` drives every path with the same
threads and connections (small GET requests, keep-alive); ratios are edge / direct.

Rows, because on a small host several costs mix and the headline alone hides which one
dominates:

* published ports, https (the headline): both paths through their published loopback port.
  The test engines run with iptables off, so each published connection goes through
  docker-proxy, a userland copy loop that costs about as much CPU as the stand-in itself;
  the edge path pays it once, like the direct one.
* container addresses, https: the same requests to the containers' addresses on the edge
  network (the host reaches the bridge), without docker-proxy: the proxy's own cost.
* container addresses, http: a second, unpublished listener with the same routes, loaded
  by the bench only: the difference to the https row is the TLS record cost.
* h2 (h2load): HTTP/2 through the edge against HTTP/1.1 straight to the stand-in (wrk speaks
  HTTP/1.1 only), one request in flight per connection.
* proxying gateway stand-in: the gateway stand-in is itself a proxy in front of a service
  stand-in, the shape of every real request (Kong or Envoy, then PostgREST or GoTrue). The
  more the path behind the edge spends, the smaller the edge's share.
* reference: HAProxy from Debian on the host (plain HTTP, upstream keep-alive), when it is
  installed: the leanest proxy at hand, not the product's (it has no ACME). It shows what any
  proxy costs on this machine, so the headline can be read against what is possible here.

The proxy, the stand-ins, docker-proxy and the load tool share the machine's cores: on 2
cores the edge path runs two server processes where the direct path runs one, so the edge
path does at least twice the server work per request on the same CPUs and its ratio stays
well below 1 there whatever the proxy does. So the bench also prints the CPU time the
stand-ins and the proxy spend per request on each path (from /proc, whatever else the
machine runs): that, not req/s on a shared machine, is the edge's cost. A Go server that
is fed slower than it can answer also spends more per request (it parks and wakes per
request instead of batching), which is why the stand-in's figure grows behind any proxy.
It also times full TLS handshakes with the proxy (new connection each, no resumption).

Run from the repository root, as root with dockerd, busybox-static, wrk and h2load
(Debian's nghttp2-client) installed, and haproxy for the reference row::

    python -m bench.edge [--seconds 4] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
#: The route to the proxying gateway stand-in, and its service stand-in's port.
GATEWAY_HOST = "gw.localhost"
SERVICE_PORT = 3000


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


def _proxying_gateway(engine, image: str) -> None:
    """A gateway stand-in shaped like the real one: a proxy (as Kong and Envoy are) in front
    of a service stand-in (as PostgREST or GoTrue are), each ``caddy`` with keep-alive."""
    client = engine.client
    client.containers.run(
        image, command=["caddy", "respond", "--listen", f":{SERVICE_PORT}", "--body", BODY],
        name=container_name("benchgw", "rest"), network=EDGE_NETWORK, detach=True,
    )  # fmt: skip
    client.containers.run(
        image,
        command=["caddy", "reverse-proxy", "--from", f":{GATEWAY_PORT}",
                 "--to", f"{container_name('benchgw', 'rest')}:{SERVICE_PORT}"],
        name=container_name("benchgw", "kong"), network=EDGE_NETWORK, detach=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One way into a stand-in: its URL, the Host the edge routes on, and the load tool."""

    url: str
    host: str = NAME
    #: "wrk" (HTTP/1.1), or "h2load" (HTTP/2 over TLS; HTTP/1.1 with ``h1``).
    tool: str = "wrk"
    h1: bool = False


def wrk(url: str, seconds: int, connections: int, host: str = NAME) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run (Host names the route)."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {host}",
         url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    if "Non-2xx" in out or "Socket errors" in out:
        print(out)
    return rps, _ms(value, unit)


def h2load(url: str, seconds: int, connections: int, h1: bool) -> tuple[float, float]:
    """Requests per second and mean latency (ms; h2load prints no percentiles) of one run,
    one request in flight per connection, as wrk does."""
    out = subprocess.run(
        ["h2load", "-t2", f"-c{connections}", "-m1", f"-D{seconds}", *(["--h1"] if h1 else []),
         url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    failed = int(re.search(r"requests: .* (\d+) failed", out).group(1))
    if failed or (not h1 and "Application protocol: h2" not in out):
        raise RuntimeError(f"h2load {url}: {failed} failed or not HTTP/2:\n{out}")
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    value, unit = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, _ms(value, unit)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load(target: Target, seconds: int, connections: int) -> tuple[float, float]:
    if target.tool == "h2load":
        return h2load(target.url, seconds, connections, target.h1)
    return wrk(target.url, seconds, connections, target.host)


@contextlib.contextmanager
def haproxy(upstream: str):
    """The reference: HAProxy (Debian's, event-driven C, the leanest HTTP proxy at hand) on
    the host, plain HTTP with upstream keep-alive; its URL, or None when it is not installed.
    Not the product's proxy (it has no ACME): it shows what any proxy costs on this machine."""
    if shutil.which("haproxy") is None:
        yield None
        return
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as config:
        config.write(
            "global\n  nbthread 2\ndefaults\n  mode http\n  timeout connect 5s\n"
            "  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n"
            f"frontend edge\n  bind 127.0.0.1:{port}\n  default_backend gateway\n"
            f"backend gateway\n  http-reuse always\n  server gateway {upstream}\n"
        )
        config.flush()
        process = subprocess.Popen(["haproxy", "-db", "-f", config.name])
        try:
            wait_until("haproxy", lambda: _answers(f"http://127.0.0.1:{port}/"), 30, every=0.2)
            yield f"http://127.0.0.1:{port}/", process.pid
        finally:
            process.terminate()
            process.wait(timeout=10)


def _answers(url: str, host: str = NAME) -> bool:
    result = subprocess.run(["curl", "-skf", "-H", f"Host: {host}", url], capture_output=True)
    return result.returncode == 0


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
    parser.add_argument("--seconds", type=int, default=4, help="per load run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per path")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    reason = unavailable_reason() or next(
        (f"{tool} is not installed" for tool in ("wrk", "h2load") if not shutil.which(tool)), None
    )
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    (engine,) = start_engines(1)
    try:
        with contextlib.ExitStack() as cleanup:
            results = _measure(engine, args, cleanup)
    finally:
        stop_engines([engine])
    _print(results, args)
    return 0


def _measure(engine, args, cleanup: contextlib.ExitStack) -> dict:
    """Set up the edge and the stand-ins, load every path in alternating rounds."""
    image = import_image(engine)
    stand_in, gateway_stand_in = (container_name(ref, "kong") for ref in ("bench", "benchgw"))
    routes = tuple(
        Route.model_construct(
            ref=ref, hosts=(host,), upstream=f"{gateway}:{GATEWAY_PORT}", paused=False
        )
        for ref, host, gateway in (
            ("bench", NAME, stand_in), ("benchgw", GATEWAY_HOST, gateway_stand_in)
        )
    )  # fmt: skip
    settings = EdgeSettings(
        httpPort=free_port(), httpsPort=free_port(), certificates={"mode": "internal"}
    ).model_copy(update={"routes": routes})
    edge = Edge(engine, image, settings)
    edge.create_shared()
    direct_port = free_port()
    _gateway(engine, image, direct_port)
    _proxying_gateway(engine, image)
    edge.start_proxy()
    edge.load(settings)
    _reload(engine, _with_plain_listener(render_caddy_config(settings)))
    gateway, proxy, proxying = (
        _address(engine, name) for name in (stand_in, EDGE_PROXY, gateway_stand_in)
    )
    published = f"https://{NAME}:{settings.https_port}/"
    # (label, direct, through the edge): each pair is compared in the same rounds.
    pairs = [
        ("published ports, https", Target(f"http://127.0.0.1:{direct_port}/"), Target(published)),
        ("container addresses, https", Target(f"http://{gateway}:{GATEWAY_PORT}/"),
         Target(f"https://{proxy}:{HTTPS_PORT}/")),
        ("container addresses, http", Target(f"http://{gateway}:{GATEWAY_PORT}/"),
         Target(f"http://{proxy}:{PLAIN_PORT}/")),
        ("h2 (h2load), published ports", Target(f"http://127.0.0.1:{direct_port}/",
         tool="h2load", h1=True), Target(published, tool="h2load")),
        ("proxying gateway stand-in, https", Target(f"http://{proxying}:{GATEWAY_PORT}/"),
         Target(f"https://{proxy}:{HTTPS_PORT}/", host=GATEWAY_HOST)),
    ]  # fmt: skip
    pids = {
        name: engine.client.containers.get(name).attrs["State"]["Pid"]
        for name in (stand_in, gateway_stand_in, container_name("benchgw", "rest"), EDGE_PROXY)
    }
    reference = cleanup.enter_context(haproxy(f"{gateway}:{GATEWAY_PORT}"))
    if reference:
        url, pids["haproxy"] = reference
        pairs.append(
            ("reference: HAProxy, http", Target(f"http://{gateway}:{GATEWAY_PORT}/"), Target(url))
        )
    wait_until("the edge serving the stand-ins", lambda: _answers(published), 60, every=0.5)
    wait_until(
        "the proxying stand-in", lambda: _answers(pairs[-2][2].url, GATEWAY_HOST), 60, every=0.5
    )
    targets = list(dict.fromkeys(target for _, *both in pairs for target in both))
    for target in targets:  # warm-up, every path
        load(target, 1, args.connections)
    # Alternating rounds, medians: the machine's load drifts, so no path gets all the
    # quiet (or busy) moments. CPU the stand-ins and the proxy spend per request: unlike
    # req/s it does not depend on what else the machine runs.
    runs: dict[Target, list[tuple[float, float]]] = {target: [] for target in targets}
    cpu = {target: dict.fromkeys(pids, 0.0) for target in targets}
    served = dict.fromkeys(targets, 0.0)
    for _ in range(args.rounds):
        for target in targets:
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            runs[target].append(load(target, args.seconds, args.connections))
            served[target] += runs[target][-1][0] * args.seconds
            for name, pid in pids.items():
                cpu[target][name] += cpu_seconds(pid) - before[name]
    medians = {
        target: tuple(statistics.median(v) for v in zip(*results, strict=True))
        for target, results in runs.items()
    }
    per_request = {
        target: {name: used / served[target] * 1e6 for name, used in cpu[target].items()}
        for target in targets
    }
    return {
        "pairs": pairs,
        "medians": medians,
        "per_request": per_request,
        "proxies": (EDGE_PROXY, "haproxy"),
        "tls": handshakes(settings.https_port, 50),
    }


def _print(results: dict, args) -> None:
    medians, per_request = results["medians"], results["per_request"]
    print(
        f"small GET ({len(BODY)} B), {args.connections} connections, one request in flight each, "
        f"median of {args.rounds} alternating {args.seconds}s runs per path:"
    )
    columns = ("direct req/s", 12), ("edge req/s", 11), ("ratio", 6), ("latency ms d/e", 15)
    print(f"  {'':34s}" + "".join(f" {name:>{width}s}" for name, width in columns))
    for label, direct, through_edge in results["pairs"]:
        (d_rps, d_ms), (e_rps, e_ms) = medians[direct], medians[through_edge]
        print(
            f"  {label:34s} {d_rps:12.0f} {e_rps:11.0f} {e_rps / d_rps:6.2f} "
            f"{d_ms:7.2f}/{e_ms:<7.2f}"
        )
    print("  latency: p99 (wrk), mean (h2load rows)")
    print("  goal: edge >= 0.8 of direct throughput (first row)")
    print("  CPU per request, microseconds: stand-ins + proxy (edge or reference)")
    for label, direct, through_edge in results["pairs"]:
        for path, target in (("direct", direct), ("edge", through_edge)):
            used = per_request[target]
            proxy = sum(used.get(name, 0.0) for name in results["proxies"])
            stand_ins = sum(used.values()) - proxy
            print(f"    {label + ', ' + path:42s} {stand_ins:7.0f} + {proxy:7.0f}")
    tls = results["tls"]
    print(
        f"  TLS handshake (50 new connections): median {statistics.median(tls) * 1000:.2f} ms, "
        f"max {max(tls) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
