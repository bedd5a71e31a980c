"""Container inputs in exactly the form the docker provider reads them back.

The provider (kreuzwerker/terraform-provider-docker, bridged by pulumi-docker) compares
what the program sends with what it reads from the engine on every refresh. A value the
engine stores in another form, or fills in by itself, shows up as a change on every
``pulumi up``. Each function here returns the engine's own form, so a second ``up`` with
the same settings is empty. Where each fact was checked: ``docs/provider-notes.md``.
"""

from __future__ import annotations

from decimal import Decimal

#: Docker stores ``--cpus`` as an integer count of nano-CPUs.
NANO_CPUS_PER_CPU = 10**9

#: Every option the json-file log driver accepts (moby ``daemon/logger/jsonfilelog``
#: ``ValidateLogOpt``). The daemon merges its own ``log-opts`` into a container whose
#: driver is the daemon's default driver, but only for keys the container leaves out:
#: naming all of them keeps a host's ``daemon.json`` out of the container's config.
JSON_FILE_LOG_OPTIONS = (
    "compress",
    "env",
    "env-regex",
    "labels",
    "labels-regex",
    "max-file",
    "max-size",
    "tag",
)


def cpus_input(cpus: float) -> str:
    """``cpus`` as the provider reads it back: the shortest decimal of the nano-CPU count.

    Docker keeps ``int(cpus * 1e9)`` nano-CPUs and the provider formats that count back
    as a plain decimal (Go ``strconv.FormatFloat(n/1e9, 'f', -1, 64)``): ``10.0`` comes
    back as ``"10"`` and ``0.05`` as ``"0.05"``. A value finer than one nano-CPU cannot
    survive the round trip, so it is refused rather than silently rounded.
    """
    exact = Decimal(str(cpus))
    nano = exact * NANO_CPUS_PER_CPU
    if not exact.is_finite() or exact <= 0 or nano != nano.to_integral_value():
        raise ValueError(f"cpus must be above 0 in steps of 1e-9 CPUs, got {cpus!r}")
    return format_nano_cpus(int(nano))


def format_nano_cpus(nano_cpus: int) -> str:
    """A nano-CPU count as the shortest plain decimal that reads back as the same float.

    ``repr`` of a float is the shortest round-tripping decimal, as Go's ``'f', -1`` is;
    Decimal only turns an exponent form (``1e-05``) into plain digits.
    """
    shortest = Decimal(repr(nano_cpus / NANO_CPUS_PER_CPU)).normalize()
    return format(shortest, "f")


def memory_swap_mb(memory_mb: int) -> int:
    """The ``memory_swap`` (MiB) to send with a ``memory`` limit of ``memory_mb``.

    Without it Docker sets memory+swap to twice the memory limit and the provider reads
    that back (in MiB) as a change from the unset input. Sending Docker's own default
    explicitly keeps the engine's behaviour and existing containers exactly as they are.
    """
    return 2 * memory_mb


def json_file_log_opts(max_size: str, max_files: int) -> dict[str, str]:
    """Every json-file option, set, so no daemon default is merged in (see above).

    Empty strings are what the driver treats as "not set" for the attribute options.
    """
    opts = dict.fromkeys(JSON_FILE_LOG_OPTIONS, "")
    opts |= {"compress": "false", "max-size": max_size, "max-file": str(max_files)}
    return opts
