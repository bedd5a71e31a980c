"""The PR preview workflow: when it runs, which stacks it previews, and how it reports.

The stack-picking step is real Python inside the workflow; it runs here against sample
changes, so what a PR previews is tested, not just that the YAML has some keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "preview.yml"
STACKS = ("blog", "shop", "shop-eu")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow[True]


def glob_matches(pattern: str, path: str) -> bool:
    """GitHub's path filter globs: ``**`` crosses directories, ``*`` does not."""
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path) is not None


def pick(workflow: dict, changed: list[str], tmp_path: Path) -> list[str]:
    """Run the workflow's stack-picking step in a checkout holding ``STACKS``."""
    (step,) = [s for s in workflow["jobs"]["changes"]["steps"] if s.get("id") == "pick"]
    assert step["shell"] == "python"
    (tmp_path / "stacks").mkdir()
    for ref in STACKS:
        (tmp_path / "stacks" / f"Pulumi.{ref}.yaml").write_text("config: {}\n")
    (tmp_path / "changed-files.txt").write_text("\n".join(changed) + "\n")
    output = tmp_path / "github-output"
    subprocess.run(
        [sys.executable, "-c", step["run"]],
        cwd=tmp_path,
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
    )
    (line,) = output.read_text().splitlines()
    key, _, value = line.partition("=")
    assert key == "stacks"
    return json.loads(value)


def test_runs_on_pull_requests_touching_stacks_or_program(workflow: dict) -> None:
    on = triggers(workflow)
    assert list(on) == ["pull_request"]
    assert set(on["pull_request"]["paths"]) == {
        "stacks/Pulumi.*.yaml",
        "__main__.py",
        "components/**",
        "requirements.txt",
        "Pulumi.yaml",
    }


@pytest.mark.parametrize(
    ("changed", "expected", "runs"),
    [
        (["stacks/Pulumi.shop.yaml", "README.md"], ["shop"], True),
        (["stacks/Pulumi.shop.yaml", "stacks/Pulumi.blog.yaml"], ["blog", "shop"], True),
        (["components/services/db.py"], list(STACKS), True),
        (["__main__.py"], list(STACKS), True),
        (["requirements.txt", "stacks/Pulumi.shop.yaml"], list(STACKS), True),
        (["Pulumi.yaml"], list(STACKS), True),
        # Deleted in the PR: the workflow runs but there is no stack file left to preview.
        (["stacks/Pulumi.gone.yaml"], [], True),
        (["automation/cli.py", "tests/test_engine_docker.py"], [], False),
    ],
)
def test_previews_changed_stacks_or_all_on_program_change(
    workflow: dict, changed: list[str], expected: list[str], runs: bool, tmp_path: Path
) -> None:
    assert pick(workflow, changed, tmp_path) == expected
    paths = triggers(workflow)["pull_request"]["paths"]
    assert any(glob_matches(p, f) for p in paths for f in changed) == runs


def test_each_picked_stack_gets_a_preview_and_a_comment(workflow: dict) -> None:
    job = workflow["jobs"]["preview"]
    assert job["needs"] == "changes"
    assert "needs.changes.outputs.stacks != '[]'" in job["if"]
    assert workflow["jobs"]["changes"]["outputs"]["stacks"] == "${{ steps.pick.outputs.stacks }}"
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.changes.outputs.stacks) }}"
    assert job["strategy"]["fail-fast"] is False
    assert job["env"]["STACK"] == "${{ matrix.stack }}"
    steps = job["steps"]
    order = {name: i for i, name in enumerate(step.get("name", "") for step in steps)}
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("pulumi/actions@") for u in uses)
    assert any("pip install -r requirements.txt" in step.get("run", "") for step in steps)
    assert (
        'pulumi login "$PULUMI_BACKEND_URL"' in steps[order["Log in to the state backend"]]["run"]
    )
    assert 'pulumi preview --stack "$STACK" --diff' in steps[order["Preview"]]["run"]
    keep = steps[order["Keep the preview for the comment job"]]
    assert keep["with"]["name"] == "preview-${{ matrix.stack }}"
    assert order["Preview"] < order["Keep the preview for the comment job"]
    assert order["Keep the preview for the comment job"] < order["Fail when the preview failed"]

    comment_job = workflow["jobs"]["comment"]
    assert comment_job["needs"] == "preview"
    [download, comment] = comment_job["steps"]
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["pattern"] == "preview-*"
    assert comment["uses"].startswith("actions/github-script@")
    # One comment per stack, found again by its marker and updated on re-runs.
    assert "<!-- pulumi-preview:${stack} -->" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]


def test_secrets_are_gated_behind_reviewers_and_kept_from_forks(workflow: dict) -> None:
    """`pulumi preview` runs the PR's program: only an approved run may see secrets."""
    text = WORKFLOW.read_text()
    holders = {
        name
        for name, job in workflow["jobs"].items()
        if "secrets." in yaml.safe_dump(job, width=10_000)
    }
    assert holders == {"preview"}, "only the gated job may reference secrets"
    job = workflow["jobs"]["preview"]
    assert job["environment"] == "preview"  # required reviewers are set on it
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    for secret in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        assert job["env"][secret] == f"${{{{ secrets.{secret} }}}}"
    # The job running PR code can write nothing and keeps no git credentials.
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "read"}
    for name in ("changes", "preview"):
        checkouts = [
            s
            for s in workflow["jobs"][name]["steps"]
            if s.get("uses", "").startswith("actions/checkout@")
        ]
        assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    # The job that can comment runs no checkout, no PR code.
    comment_job = workflow["jobs"]["comment"]
    assert comment_job["permissions"] == {"pull-requests": "write"}
    assert not any("checkout" in s.get("uses", "") or "run" in s for s in comment_job["steps"])
    assert "pull_request_target" not in text
