"""The provider shapes against a real engine whose daemon sets its own log defaults.

What the docker provider sends for a container (kreuzwerker's create: ``LogConfig`` from
``log_driver``/``log_opts``, ``Memory``/``MemorySwap`` from MiB, ``NanoCPUs`` from
``cpus``) is sent here with docker-py, and what the engine stores is what the provider
reads back on the next refresh (docs/provider-notes.md).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import docker.errors
import pytest
from docker.types import LogConfig
from engines import IMAGE, POOLS, PrivateDockerd, busybox_rootfs_tar, unavailable_reason

from components.provider_shapes import (
    NANO_CPUS_PER_CPU,
    cpus_input,
    format_nano_cpus,
    json_file_log_opts,
    memory_swap_mb,
)

MIB = 1024 * 1024
#: What an operator might put in /etc/docker/daemon.json under "log-opts".
DAEMON_LOG_OPTS = {
    "max-size": "7m",
    "compress": "true",
    "labels": "com.example",
    "tag": "{{.Name}}",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[PrivateDockerd]:
    """A private engine with daemon-wide json-file log defaults."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run the real-Docker tests: {reason}", pytrace=False)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="sbd-", dir="/tmp"))
    flags = tuple(f"--log-opt={key}={value}" for key, value in DAEMON_LOG_OPTS.items())
    dockerd = PrivateDockerd(name="logs", root=root / "logs", pool=POOLS[3], extra_args=flags)
    try:
        dockerd.start()
        dockerd.wait_ready()
        dockerd.import_busybox(busybox_rootfs_tar())
        yield dockerd
    finally:
        dockerd.stop()
        root.rmdir()


def stored_log_config(engine: PrivateDockerd, name: str, opts: dict[str, str]) -> dict[str, str]:
    container = engine.client.containers.create(
        IMAGE, ["sleep", "60"], name=name, log_config=LogConfig(type="json-file", config=opts)
    )
    container.reload()
    assert container.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"
    return container.attrs["HostConfig"]["LogConfig"]["Config"]


def test_daemon_log_opts_merge_into_a_container_naming_only_some(engine: PrivateDockerd) -> None:
    stored = stored_log_config(engine, "partial", {"max-size": "10m", "max-file": "3"})
    # The diff every `pulumi up` would show without the program's complete set.
    assert stored == {"max-size": "10m", "max-file": "3"} | {
        key: value for key, value in DAEMON_LOG_OPTS.items() if key != "max-size"
    }


def test_the_programs_log_opts_read_back_exactly_as_sent(engine: PrivateDockerd) -> None:
    sent = json_file_log_opts("10m", 3)
    assert stored_log_config(engine, "complete", sent) == sent


@pytest.mark.parametrize(("memory", "cpus"), [(256, 0.05), (64, 1.0), (1024, 0.25)])
def test_memory_swap_and_cpus_read_back_as_sent(
    engine: PrivateDockerd, memory: int, cpus: float
) -> None:
    text = cpus_input(cpus)
    container = engine.client.containers.create(
        IMAGE,
        ["sleep", "60"],
        mem_limit=memory * MIB,
        memswap_limit=memory_swap_mb(memory) * MIB,
        nano_cpus=int(Decimal(text) * NANO_CPUS_PER_CPU),
    )
    container.reload()
    host = container.attrs["HostConfig"]
    assert host["Memory"] // MIB == memory
    assert host["MemorySwap"] // MIB == memory_swap_mb(memory)
    assert format_nano_cpus(host["NanoCpus"]) == text


def test_docker_refuses_more_cpus_than_the_host_has(engine: PrivateDockerd) -> None:
    # A bound only the engine knows: such a container is refused half-way through an update
    # ("Range of CPUs is from 0.01 to <host CPUs>"), so the fleet must check it per host.
    too_many = cpus_input(engine.client.info()["NCPU"] + 1)
    with pytest.raises(docker.errors.APIError, match="Range of CPUs is from 0.01"):
        engine.client.containers.create(
            IMAGE, ["true"], nano_cpus=int(Decimal(too_many) * NANO_CPUS_PER_CPU)
        )


def test_memory_alone_gets_twice_the_swap_from_docker(engine: PrivateDockerd) -> None:
    container = engine.client.containers.create(IMAGE, ["sleep", "60"], mem_limit=256 * MIB)
    container.reload()
    assert container.attrs["HostConfig"]["MemorySwap"] // MIB == memory_swap_mb(256)


def test_a_second_network_of_the_same_name_is_refused(engine: PrivateDockerd) -> None:
    engine.client.networks.create("supabase-twice", driver="bridge")
    with pytest.raises(docker.errors.APIError, match="already exists"):
        engine.client.networks.create("supabase-twice", driver="bridge", check_duplicate=True)


def test_a_volume_created_again_by_name_is_the_same_volume(engine: PrivateDockerd) -> None:
    first = engine.client.volumes.create("supabase-keep-db-data", labels={"a": "1"})
    again = engine.client.volumes.create("supabase-keep-db-data", labels={"a": "2"})
    assert again.id == first.id and again.attrs["Labels"] == {"a": "1"}
