"""2026-09's edge-runtime main, run for real: its TypeScript under Node with the real `jose`.

Deno and the edge runtime are not available here. ``functions_harness.mjs`` transpiles
the rendered main with TypeScript and runs it under Node with stand-ins for
``Deno.env``, ``Deno.serve`` and ``EdgeRuntime.userWorkers``, and with npm's ``jose`` 6
(the same library as ``jsr:@panva/jose@6``). The tokens come from the project's own key
functions, so this checks that the keys we issue pass the main and forged ones do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jwt
import pytest

from components.api_keys import (
    ec_private_jwk_from_seed,
    make_api_key,
    make_asymmetric_api_key,
    render_jwks,
    render_jwt_keys,
)
from components.render.functions import (
    render_default_functions,
    render_default_functions_2026,
)

HARNESS = Path(__file__).with_name("functions_harness.mjs")
PACKAGES = ("jose@6.2.18", "typescript@5.9.3")
CACHE = Path(os.environ.get("SUPABASE_TEST_CACHE", "/var/cache/supabase-tests"))

SECRET = "functions-test-jwt-secret-at-least-32-chars"
ISSUED = 1_790_000_000
EC = ec_private_jwk_from_seed(b"functions-test-seed-32-bytes!!!!")
OTHER_EC = ec_private_jwk_from_seed(b"another-functions-seed-32-bytes!")


def _node_modules() -> Path:
    """npm packages for the harness, installed once into a cache keyed by their versions."""
    key = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:16]
    target = CACHE / f"node-functions-{key}"
    if (target / "node_modules" / "jose").is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE, prefix="node-functions-"))
    done = subprocess.run(
        [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(staging),
            *PACKAGES,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"npm install failed: {done.stderr[-2000:]}")
    try:
        staging.rename(target)
    except OSError:  # another run got there first
        shutil.rmtree(staging, ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def runtime() -> Path:
    reason = None
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "node and npm are not installed"
    else:
        try:
            return _node_modules()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            reason = str(error)
    if os.environ.get("CI"):
        pytest.fail(f"the functions main cannot run: {reason}")
    pytest.skip(reason)


def _serve(runtime: Path, env: dict[str, str], requests: list[dict[str, Any]]) -> list[dict]:
    work = Path(tempfile.mkdtemp(dir=runtime, prefix="run-"))
    try:
        main = work / "index.ts"
        main.write_text(render_default_functions_2026()["main/index.ts"])
        harness = work / "harness.mjs"
        shutil.copy(HARNESS, harness)
        done = subprocess.run(
            ["node", str(harness)],
            input=json.dumps({"main": str(main), "env": env, "requests": requests}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=work,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    finally:
        shutil.rmtree(work, ignore_errors=True)


ENV = {
    "JWT_SECRET": SECRET,
    "VERIFY_JWT": "true",
    "SUPABASE_JWKS": render_jwks(EC, SECRET),
}


def _request(path: str = "/hello", method: str = "GET", **headers: str) -> dict[str, Any]:
    return {"url": f"http://functions:9000{path}", "method": method, "headers": headers}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _user_session(private_jwk: dict[str, Any]) -> str:
    """A token as auth signs it with JWT_KEYS' first key (ES256, kid in the header)."""
    key = jwt.PyJWK(private_jwk)
    claims = {"sub": "user-1", "role": "authenticated", "exp": 4_000_000_000}
    return jwt.encode(claims, key.key, algorithm="ES256", headers={"kid": private_jwk["kid"]})


def test_main_admits_the_projects_tokens_and_refuses_forged_ones(runtime: Path) -> None:
    anon_legacy = make_api_key("anon", jwt_secret=SECRET, issued_at=ISSUED, lifetime_days=3650)
    anon_es256 = make_asymmetric_api_key(
        "anon", private_jwk=EC, issued_at=ISSUED, lifetime_days=3650
    )
    forged_es256 = make_asymmetric_api_key(
        "service_role",
        private_jwk={**OTHER_EC, "kid": EC["kid"]},
        issued_at=ISSUED,
        lifetime_days=9,
    )
    forged_hs256 = make_api_key(
        "service_role", jwt_secret="x" * 40, issued_at=ISSUED, lifetime_days=9
    )
    expired = make_api_key("anon", jwt_secret=SECRET, issued_at=1_000_000_000, lifetime_days=1)
    unsigned = jwt.encode({"role": "service_role"}, None, algorithm="none")
    assert json.loads(render_jwt_keys(EC, SECRET))[0]["kid"] == EC["kid"]
    cases = [
        (_request(**_bearer(anon_legacy)), 200),
        (_request(**_bearer(anon_es256)), 200),
        (_request(**_bearer(_user_session(EC))), 200),
        (_request(**{"sb-api-key": anon_es256}), 200),
        (_request(), 401),
        (_request(**_bearer(forged_es256)), 401),
        (_request(**_bearer(_user_session(OTHER_EC))), 401),
        (_request(**_bearer(forged_hs256)), 401),
        (_request(**_bearer(expired)), 401),
        (_request(**_bearer(unsigned)), 401),
        (_request(**{"sb-api-key": forged_es256}), 401),
        (_request(authorization=f"Basic {anon_legacy}"), 401),
        (_request(method="OPTIONS"), 200),
    ]
    results = _serve(runtime, ENV, [request for request, _ in cases])
    assert [r["status"] for r in results] == [status for _, status in cases], results
    assert json.loads(results[0]["body"]) == {"worker": "/home/deno/functions/hello"}


def test_main_routes_by_the_first_path_segment(runtime: Path) -> None:
    token = _bearer(make_api_key("anon", jwt_secret=SECRET, issued_at=ISSUED, lifetime_days=3650))
    results = _serve(
        runtime,
        ENV,
        [_request("/", **token), _request("/main", **token), _request("/a.b/x", **token)],
    )
    assert [r["status"] for r in results] == [400, 404, 404]


def test_without_verify_jwt_every_request_reaches_the_function(runtime: Path) -> None:
    results = _serve(runtime, {**ENV, "VERIFY_JWT": "false"}, [_request()])
    assert results[0]["status"] == 200


def test_both_releases_ship_main_and_hello() -> None:
    assert set(render_default_functions_2026()) == set(render_default_functions())
    assert "Deno.serve(" in render_default_functions_2026()["hello/index.ts"]
