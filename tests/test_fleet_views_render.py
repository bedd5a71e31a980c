"""What ``list`` and ``status`` print: plain lines, rich tables and JSON from one observation."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from automation import views
from automation.containers import ContainerState
from automation.engine import EngineSpec
from automation.stackfiles import StackFile
from automation.status import ProjectStatus, Status
from components.releases import NEWEST_RELEASE, RELEASES

OLDER = min(name for name in RELEASES if name != NEWEST_RELEASE)
SPEC = EngineSpec(name="alpha", url="ssh://ops@alpha", capacity=5)


def _stack(name: str, **config: object) -> StackFile:
    return StackFile(
        name,
        Path(f"/s/Pulumi.{name}.yaml"),
        {"config": {f"supabase:{k}": v for k, v in config.items()}},
    )


def _view() -> views.FleetView:
    shop = views.Observed(
        ProjectStatus("shop", "alpha", Status.ACTIVE),
        _stack("shop", release=OLDER),
        [
            ContainerState("shop", "rest", "supabase-shop-rest", "running", None),
            ContainerState("shop", "db", "supabase-shop-db", "running", "healthy"),
        ],
        {"kongHttp": 20000, "kongHttps": 20001},
    )
    broken = views.Observed(
        ProjectStatus("web", "alpha", Status.FAILED, ["db is unhealthy", "auth exited", "x"]),
        _stack("web", release="1999-01"),
        [ContainerState("web", "db", "supabase-web-db", "exited", "unhealthy")],
        None,
    )
    stray = views.Observed(ProjectStatus("ghost", "beta", Status.DELETED, ["no stack file"]))
    empty = EngineSpec(name="empty", url="unix:///e.sock", capacity=2)
    hosts = [views.HostView("alpha", SPEC, ["daemon default log driver is 'local'"]),
             views.HostView("empty", empty)]  # fmt: skip
    return views.FleetView(hosts, [shop, broken, stray])


def test_cells_for_ports_and_release():
    view = _view()
    shop, broken, stray = view.projects
    assert views.ports_text(shop) == "20000/20001"
    assert views.ports_text(broken) == "invalid"
    assert views.ports_text(stray) == "-"
    assert views.ports_text(views.Observed(shop.status, shop.stack, ports={})) == "-"
    assert (views.release_text(shop), views.release_text(broken)) == (OLDER, "invalid")
    assert views.release_text(stray) == "-"
    assert views.older_release(shop).startswith(f"on release {OLDER}; the newest is")
    assert views.older_release(broken) is None and views.older_release(stray) is None
    newest = views.Observed(shop.status, _stack("n", release=NEWEST_RELEASE))
    assert views.older_release(newest) is None


def test_plain_list_groups_by_host_and_shows_empty_hosts():
    lines = views.list_plain(_view()).splitlines()
    assert lines[0] == "alpha (ssh://ops@alpha) 2/5 projects"
    assert lines[1] == "  ! daemon default log driver is 'local'"
    assert lines[2] == f"  {'shop':<30} {'ACTIVE':<13} {'20000/20001':<18} {OLDER:<8}"
    assert lines[3] == (
        f"  {'web':<30} {'FAILED':<13} {'invalid':<18} {'invalid':<8}  db is unhealthy (+2 more)"
    )
    assert lines[4:] == [
        "empty (unix:///e.sock) 0/2 projects",
        "  (no projects)",
        "beta",  # a host only a project names: no inventory entry
        f"  {'ghost':<30} {'DELETED':<13} {'-':<18} {'-':<8}  no stack file",
    ]


def test_plain_status_says_why_for_each_project():
    text = views.status_plain(_view())
    assert text.splitlines() == [
        f"shop: ACTIVE on host alpha, release {OLDER}",
        "  ports: kongHttp 20000, kongHttps 20001",
        f"  * {views.older_release(_view().projects[0])}",
        "    db         running, healthy",
        "    rest       running",
        "web: FAILED on host alpha, release invalid",
        "  - db is unhealthy",
        "  - auth exited",
        "  - x",
        "    db         exited, unhealthy",
        "ghost: DELETED on host beta, release -",
        "  - no stack file",
        "host alpha: daemon default log driver is 'local'",
    ]


def _render(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system="standard", force_terminal=True).print(renderable)
    return out.getvalue()


def _plain(renderable) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(renderable)
    return out.getvalue()


def test_rich_views_hold_the_same_facts_in_colour():
    listed = _plain(views.list_rich(_view()))
    for fact in ("alpha (ssh://ops@alpha) 2/5 projects", "shop", "20000/20001", OLDER,
                 "db is unhealthy (+2 more)", "! daemon default log driver is 'local'",
                 "empty (unix:///e.sock) 0/2 projects", "ghost", "no stack file"):  # fmt: skip
        assert fact in listed, fact
    header = next(line for line in listed.splitlines() if "ref" in line and "status" in line)
    assert header.split() == ["┃", "ref", "┃", "status", "┃", "ports", "┃", "release", "┃",
                              "problem", "┃"]  # fmt: skip
    coloured = _render(views.list_rich(_view()))
    assert "\x1b[1;32mACTIVE" in coloured and "\x1b[1;31mFAILED" in coloured
    assert f"\x1b[33m{OLDER}" in coloured  # an older release stands out

    status = _plain(views.status_rich(_view()))
    head = f"shop: ACTIVE on host alpha, release {OLDER}  ports kongHttp 20000, kongHttps 20001"
    for fact in (head,
                 "  - auth exited", "web: FAILED on host alpha, release invalid",
                 "host alpha: daemon default log driver is 'local'",
                 f"  * {views.older_release(_view().projects[0])}"):  # fmt: skip
        assert fact in status, fact
    rows = [line.split() for line in status.splitlines() if line.strip().startswith(("db", "rest"))]
    assert rows == [["db", "running", "healthy"], ["rest", "running", "-"],
                    ["db", "exited", "unhealthy"]]  # fmt: skip
    # The container table sits under its project, indented like its problems, no deeper.
    assert [line[:8] for line in status.splitlines() if line.split()[:1] == ["db"]] == [
        "    db  ",
        "    db  ",
    ]
    coloured = _render(views.status_rich(_view()))
    assert "\x1b[1mshop\x1b[0m: " in coloured  # each project's ref in bold
    assert "\x1b[32mrunning" in coloured and "\x1b[31mexited" in coloured
    assert "\x1b[32mhealthy" in coloured and "\x1b[31munhealthy" in coloured
    assert "\x1b[31m  - auth exited" in coloured


def test_json_carries_everything_the_text_views_show():
    data = views.as_json(_view())
    assert data["hosts"] == [
        {"name": "alpha", "url": "ssh://ops@alpha", "capacity": 5,
         "notes": ["daemon default log driver is 'local'"]},
        {"name": "empty", "url": "unix:///e.sock", "capacity": 2, "notes": []},
    ]  # fmt: skip
    shop, web, ghost = data["projects"]
    assert shop["ref"] == "shop" and shop["stack"] == "shop" and shop["host"] == "alpha"
    assert shop["status"] == "ACTIVE" and shop["problems"] == []
    assert shop["ports"] == {"kongHttp": 20000, "kongHttps": 20001}
    assert shop["release"] == OLDER and shop["olderRelease"].startswith("on release")
    assert shop["containers"][1] == {
        "project": "shop", "service": "db", "name": "supabase-shop-db", "state": "running",
        "health": "healthy", "health_log": "", "exit_code": None,
    }  # fmt: skip
    assert web["release"] == "invalid" and web["olderRelease"] is None
    assert web["problems"] == ["db is unhealthy", "auth exited", "x"]
    assert ghost["stack"] is None and ghost["ports"] is None and ghost["containers"] == []
    # A host only a project names (no inventory entry) has no url or capacity.
    bare = views.FleetView([views.HostView("beta", None, ["n"])], [])
    assert views.as_json(bare)["hosts"] == [
        {"name": "beta", "url": None, "capacity": None, "notes": ["n"]}
    ]
    assert (views.list_plain, views.list_rich) == views.LIST
    assert (views.status_plain, views.status_rich) == views.STATUS
