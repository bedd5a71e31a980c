"""The edge runtime's starting functions: main routes to user workers, hello exists."""

from __future__ import annotations

from components.render.functions import FUNCTIONS_DIR, render_default_functions


def test_main_and_hello_are_rendered() -> None:
    assert set(render_default_functions()) == {"main/index.ts", "hello/index.ts"}


def test_main_checks_the_jwt_when_asked_to() -> None:
    main = render_default_functions()["main/index.ts"]
    assert "Deno.env.get('JWT_SECRET')" in main
    assert "Deno.env.get('VERIFY_JWT') === 'true'" in main
    assert "jose.jwtVerify(" in main
    assert "req.method !== 'OPTIONS' && VERIFY_JWT" in main


def test_main_runs_each_function_in_a_user_worker() -> None:
    main = render_default_functions()["main/index.ts"]
    assert f"const FUNCTIONS_DIR = '{FUNCTIONS_DIR}'" in main
    assert "EdgeRuntime.userWorkers.create(" in main
    assert "servicePath," in main
    assert "envVars: Object.entries(Deno.env.toObject())" in main
    assert "return await worker.fetch(req)" in main


def test_main_answers_errors_as_json() -> None:
    main = render_default_functions()["main/index.ts"]
    assert "'Content-Type': 'application/json'" in main
    for status in (400, 401, 404, 500):
        assert f"jsonResponse({status}," in main


def test_hello_answers_json() -> None:
    hello = render_default_functions()["hello/index.ts"]
    assert "serve(" in hello
    assert "'Content-Type': 'application/json'" in hello


def test_output_is_deterministic_and_fresh() -> None:
    first = render_default_functions()
    first["main/index.ts"] = "changed"
    assert render_default_functions() == render_default_functions()
    assert render_default_functions()["main/index.ts"] != "changed"
