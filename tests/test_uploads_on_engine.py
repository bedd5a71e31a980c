"""The component's uploaded files, written the way the Docker provider writes them, on a real
engine: a tar of the file's absolute path extracted at ``/`` of the created, not yet started
container. Proves that missing parent directories are made, that files land inside named
volumes mounted over their path, and that they survive the container (pause, resume).
"""

from __future__ import annotations

import io
import tarfile

import pytest
from engines import IMAGE, PrivateDockerd
from pulumi_harness import reveal
from test_component import build, uploads_of

from components.naming import volume_name


def provider_style_tar(path: str, content: str) -> bytes:
    """One file in a tar named by its absolute path, mode 0644, as the provider builds it."""
    data = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(path)
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def planned() -> dict[str, dict]:
    """Uploads and volume mounts of the functions and kong containers, from the component."""
    containers = build(stack="upl").mocks.containers()
    return {
        service: {
            "uploads": uploads_of(containers[service]),
            "mounts": reveal(containers[service].inputs.get("mounts") or []),
        }
        for service in ("functions", "kong")
    }


def test_uploads_reach_new_directories_and_named_volumes(
    engine_a: PrivateDockerd, planned: dict[str, dict]
) -> None:
    client = engine_a.client
    assert client is not None
    (mount,) = planned["functions"]["mounts"]
    assert mount["source"] == volume_name("upl", "functions-data")
    client.volumes.create(mount["source"])
    files = planned["functions"]["uploads"] | planned["kong"]["uploads"]
    listing = " ".join(sorted(files))

    def create(command: str):
        return client.containers.create(
            IMAGE,
            ["sh", "-c", command],
            mounts=[{"Type": "volume", "Source": mount["source"], "Target": mount["target"]}],
        )

    first = create(f"cat {listing}")
    for path, content in files.items():
        assert first.put_archive("/", provider_style_tar(path, content))
    first.start()
    assert first.wait(timeout=30)["StatusCode"] == 0
    output = first.logs().decode()
    for content in files.values():
        assert content.strip() in output
    first.remove()

    # A new container on the same volume (what resume does) still finds the function sources,
    # while the kong file, outside any volume, went with its container.
    volume_files = sorted(p for p in files if p.startswith(mount["target"] + "/"))
    assert "/home/deno/functions/main/index.ts" in volume_files
    second = create(f"cat {' '.join(volume_files)} && test ! -e /home/kong/kong.yml")
    second.start()
    assert second.wait(timeout=30)["StatusCode"] == 0
    assert files["/home/deno/functions/main/index.ts"].strip() in second.logs().decode()
    second.remove()
