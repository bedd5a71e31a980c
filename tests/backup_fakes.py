"""An in-memory Docker engine for the backup code's exec, archive and container calls.

``FakeEngine.api`` is ``create_autospec(docker.APIClient)``, so a call docker-py would
reject fails here too. Every ``docker exec`` answers from a script (``answer``) over a real
socket pair, framed the way dockerd multiplexes stdout and stderr; what the command read on
its stdin is kept, so a test sees what a Postgres or a tar in the container would get.
"""

from __future__ import annotations

import socket as sockets
import struct
from dataclasses import dataclass, field
from unittest import mock

import docker
import docker.errors

from automation.backups import archive
from automation.backups.manifest import MANIFEST, Part

_STDOUT, _STDERR = 1, 2


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame as dockerd writes it (stream byte, 3 zero bytes, length)."""
    return struct.pack(">BxxxL", stream, len(data)) + data


@dataclass
class Answer:
    """What one exec prints and how it ends."""

    stdout: list[bytes] = field(default_factory=list)
    stderr: bytes = b""
    exit_code: int | None = 0
    #: exec_inspect answers None this many times before the exit code (it lands late).
    late: int = 0


@dataclass
class Call:
    """One exec as the engine saw it."""

    container: str
    cmd: list[str]
    user: str
    stdin: bool
    stdout: bool
    stderr: bool
    answer: Answer
    peer: sockets.socket | None = None
    received: bytes = b""

    def read_stdin(self) -> bytes:
        """Everything the command got on stdin (its socket is closed by then)."""
        assert self.peer is not None
        self.peer.setblocking(False)
        chunks = []
        try:
            while chunk := self.peer.recv(1 << 16):
                chunks.append(chunk)
        except BlockingIOError:
            pass
        self.received += b"".join(chunks)
        return self.received


@dataclass
class FakeContainer:
    id: str
    image: str
    command: list[str]
    kwargs: dict
    status: str = "created"
    logs_text: bytes = b""
    events: list[str] = field(default_factory=list)

    def reload(self) -> None:
        self.events.append("reload")

    def logs(self, tail: int) -> bytes:
        return b"\n".join(self.logs_text.splitlines()[-tail:])

    def start(self) -> None:
        self.events.append("start")
        self.status = "running"

    def stop(self, timeout: int) -> None:
        self.events.append(f"stop {timeout}")
        self.status = "exited"

    def remove(self, **kwargs: object) -> None:
        self.events.append(f"remove {sorted(kwargs.items())}")


class FakeEngine:
    """The engine side: scripted execs, containers made, archives asked for."""

    def __init__(self, answers: list[Answer] | None = None):
        self.answers = list(answers or [])
        self.calls: list[Call] = []
        self.by_id: dict[str, Call] = {}
        self.inspected: dict[str, int] = {}
        self.containers_made: list[FakeContainer] = []
        #: Status a container made by ``containers.run`` has after its first reload.
        self.run_status = "running"
        self.run_logs = b""
        #: pg_isready exit codes, in order (then 0).
        self.ready_codes: list[int] = []
        self.archives: list[tuple[str, str, int]] = []
        self.images_present: set[str] = set()
        #: Hand out the socket wrapped in a file, as docker-py does for unix-socket engines.
        self.socket_files = False
        #: Containers (as ``docker ps`` entries) and volumes (name -> labels) on the engine.
        self.listed: list[dict] = []
        self.volumes: dict[str, dict[str, str]] = {}
        self.inspect: dict[str, dict] = {}
        self.api = mock.create_autospec(docker.APIClient, instance=True)
        self.api.exec_create.side_effect = self._exec_create
        self.api.exec_start.side_effect = self._exec_start
        self.api.exec_inspect.side_effect = self._exec_inspect
        self.api.get_archive.side_effect = self._get_archive
        self.api.containers.side_effect = self._list
        self.api.volumes.side_effect = self._volumes
        self.api.inspect_container.side_effect = lambda container: self.inspect[container]
        self.containers = mock.Mock()
        self.containers.run.side_effect = self._run
        self.containers.create.side_effect = self._create
        self.images = mock.Mock()
        self.images.get.side_effect = self._image

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def _exec_create(self, container, cmd, stdout=True, stderr=True, stdin=False, tty=False,
                     privileged=False, user="", environment=None, workdir=None,
                     detach_keys=None):  # fmt: skip
        exec_id = f"exec{len(self.calls)}"
        if cmd[:1] == ["pg_isready"]:
            code = self.ready_codes.pop(0) if self.ready_codes else 0
            answer = Answer(exit_code=code)
        else:
            assert self.answers, f"no answer scripted for {cmd}"
            answer = self.answers.pop(0)
        call = Call(container, list(cmd), user, stdin, stdout, stderr, answer)
        self.calls.append(call)
        self.by_id[exec_id] = call
        return {"Id": exec_id}

    def _exec_start(self, exec_id, detach=False, tty=False, stream=False, socket=False,
                    demux=False):  # fmt: skip
        call = self.by_id[exec_id]
        if not socket:
            return b""
        ours, peer = sockets.socketpair()
        out = b"".join(frame(_STDOUT, chunk) for chunk in call.answer.stdout if call.stdout)
        err = frame(_STDERR, call.answer.stderr) if call.answer.stderr and call.stderr else b""
        peer.sendall(out + err)
        peer.shutdown(sockets.SHUT_WR)
        if not call.stdin:
            peer.shutdown(sockets.SHUT_RD)  # no stdin attached: what is sent goes nowhere
        call.peer = peer
        return sockets.SocketIO(ours, "rwb") if self.socket_files else ours

    def _exec_inspect(self, exec_id):
        call = self.by_id[exec_id]
        seen = self.inspected.get(exec_id, 0)
        self.inspected[exec_id] = seen + 1
        if seen < call.answer.late:
            return {"ExitCode": None, "Running": True}
        return {"ExitCode": call.answer.exit_code, "Running": False}

    def _list(self, all=False, filters=None, **_):
        label = (filters or {}).get("label")
        return [
            entry
            for entry in self.listed
            if (all or entry.get("State") == "running") and _labelled(entry["Labels"], label)
        ]

    def _volumes(self, filters=None):
        label = (filters or {}).get("label")
        names = [name for name, labels in self.volumes.items() if _labelled(labels, label)]
        return {"Volumes": [{"Name": name} for name in names] or None}

    def _get_archive(self, container, path, chunk_size=2 << 20, encode_stream=False):
        self.archives.append((container, path, chunk_size))
        return iter([f"tar of {path}".encode()]), {"name": path.rsplit("/", 1)[-1]}

    def _container(self, image, command, kwargs) -> FakeContainer:
        made = FakeContainer(f"c{len(self.containers_made)}" + "0" * 60, image, command, kwargs)
        made.logs_text = self.run_logs
        self.containers_made.append(made)
        return made

    def _run(self, image, command=None, **kwargs):
        made = self._container(image, command, kwargs)
        made.status = self.run_status
        return made

    def _create(self, image, command=None, **kwargs):
        return self._container(image, command, kwargs)

    def _image(self, name):
        if name not in self.images_present:
            raise docker.errors.ImageNotFound(f"No such image: {name}")
        return mock.Mock(tags=[name])


def _labelled(labels: dict[str, str], wanted: str | None) -> bool:
    """Docker's ``label`` filter: ``key`` or ``key=value`` (everything without one)."""
    if wanted is None:
        return True
    key, has_value, value = wanted.partition("=")
    return key in labels and (not has_value or labels[key] == value)


def store_backup(target, key, manifest, payloads: dict[str, tuple[str, str, bytes]]):
    """Commit a backup of ``payloads`` (part name -> (kind, target, plain bytes)) to
    ``target`` and return ``manifest`` with those parts, as ``take_backup`` leaves it."""
    staging = target.stage(manifest.ref, manifest.id)
    for name, (kind, where, data) in payloads.items():
        with staging.part(f"{name}.zst.age") as write:
            sealed = archive.seal([data], write, key)
        manifest.parts.append(Part(name, kind, sealed.size, sealed.stored, sealed.sha256, where))
    with staging.part(MANIFEST) as write:
        archive.seal([manifest.to_json()], write, key)
    staging.commit()
    return manifest
