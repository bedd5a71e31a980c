"""The edge runtime's starting functions parse as TypeScript and fit the container they
are uploaded into: the env they read is the env the container gets, the folder they
serve from is the folder the files are uploaded to and the runtime is started with."""

from __future__ import annotations

import re
from functools import cache

import pytest
import tree_sitter_typescript
from pulumi_harness import Run, env_of, reveal, run_main
from tree_sitter import Language, Node, Parser

from components.render.functions import FUNCTIONS_DIR, render_default_functions

#: A module URL pinned to an exact release.
PINNED_IMPORT = re.compile(r"https://deno\.land/(std|x/[a-z]+)@v?\d+\.\d+\.\d+/[\w/.]+\.ts")
TYPESCRIPT = Language(tree_sitter_typescript.language_typescript())


def parse(source: str) -> Node:
    return Parser(TYPESCRIPT).parse(source.encode()).root_node


def walk(node: Node):
    yield node
    for child in node.children:
        yield from walk(child)


def text(node: Node | None) -> str:
    return node.text.decode() if node is not None else ""


def string_value(node: Node) -> str:
    return text(node)[1:-1]


def calls(tree: Node, callee: str) -> list[Node]:
    """The argument lists of every call of ``callee`` (e.g. ``Deno.env.get``)."""
    return [
        node.child_by_field_name("arguments")
        for node in walk(tree)
        if node.type == "call_expression" and text(node.child_by_field_name("function")) == callee
    ]


def constant(tree: Node, name: str) -> Node:
    (value,) = [
        node.child_by_field_name("value")
        for node in walk(tree)
        if node.type == "variable_declarator" and text(node.child_by_field_name("name")) == name
    ]
    return value


@cache
def project() -> Run:
    return run_main({"portSlot": "4", "functionsVerifyJwt": "true"}, stack="dev")


def functions_container() -> dict:
    return reveal(project().mocks.containers()["functions"].inputs)


@pytest.mark.parametrize("path", sorted(render_default_functions()))
def test_each_function_parses_as_typescript(path: str) -> None:
    tree = parse(render_default_functions()[path])
    broken = [n for n in walk(tree) if n.type == "ERROR" or n.is_missing]
    assert not broken, [(n.start_point, text(n)[:60]) for n in broken]
    assert tree.child_count > 1


def test_the_parser_sees_broken_typescript() -> None:
    main = render_default_functions()["main/index.ts"]
    assert parse(main.replace("): Response {", "): Response {{", 1)).has_error
    assert parse(main.replace("const JWT_SECRET", "const const JWT_SECRET", 1)).has_error


@pytest.mark.parametrize("path", sorted(render_default_functions()))
def test_each_function_serves_a_handler_with_pinned_imports(path: str) -> None:
    tree = parse(render_default_functions()[path])
    (arguments,) = calls(tree, "serve")
    assert arguments.named_children[0].type in ("arrow_function", "function_expression")
    sources = [
        string_value(node.child_by_field_name("source"))
        for node in walk(tree)
        if node.type == "import_statement"
    ]
    assert sources, path
    for source in sources:
        assert re.fullmatch(
            r"https://deno\.land/(std|x/[a-z]+)@v?\d+\.\d+\.\d+/[\w/.]+\.ts", source
        )


def test_main_reads_only_env_the_functions_container_gets() -> None:
    tree = parse(render_default_functions()["main/index.ts"])
    read = {string_value(args.named_children[0]) for args in calls(tree, "Deno.env.get")}
    assert read == {"JWT_SECRET", "VERIFY_JWT"}
    env = env_of(project().mocks.containers()["functions"])
    assert read <= set(env)
    assert env["VERIFY_JWT"] == "true"
    # The router compares with exactly the string the container is given.
    comparison = constant(tree, "VERIFY_JWT")
    assert text(comparison.child_by_field_name("operator")) == "==="
    assert string_value(comparison.child_by_field_name("right")) == env["VERIFY_JWT"]


def test_main_serves_from_the_folder_the_functions_are_uploaded_to() -> None:
    tree = parse(render_default_functions()["main/index.ts"])
    served_from = string_value(constant(tree, "FUNCTIONS_DIR"))
    assert served_from == FUNCTIONS_DIR
    container = functions_container()
    uploaded = {upload["file"] for upload in container["uploads"]}
    assert uploaded == {f"{served_from}/{path}" for path in render_default_functions()}
    command = container["command"]
    assert command[command.index("--main-service") + 1] == f"{served_from}/main"
    (created,) = calls(tree, "EdgeRuntime.userWorkers.create")
    keys = {
        text(pair.child_by_field_name("key")) if pair.type == "pair" else text(pair)
        for pair in created.named_children[0].named_children
    }
    assert {"servicePath", "memoryLimitMb", "workerTimeoutMs", "envVars"} <= keys


#: Globals of the Deno runtime the mains may call without declaring them.
RUNTIME_GLOBALS = {"String", "URL", "Response", "TextEncoder", "Error"}


@pytest.mark.parametrize("path", sorted(render_default_functions()))
def test_every_function_called_is_declared_or_imported(path: str) -> None:
    """A call to a name the file neither declares nor imports fails only at request time
    (TypeScript is not type-checked by the edge runtime), so it is caught here."""
    tree = parse(render_default_functions()[path])
    called = {
        text(node.child_by_field_name("function"))
        for node in walk(tree)
        if node.type in ("call_expression", "new_expression")
        and node.child_by_field_name("function") is not None
        and node.child_by_field_name("function").type == "identifier"
    } | {
        text(node.child_by_field_name("constructor"))
        for node in walk(tree)
        if node.type == "new_expression"
    }
    declared = {
        text(node.child_by_field_name("name"))
        for node in walk(tree)
        if node.type in ("function_declaration", "variable_declarator")
    }
    imported = {
        text(node)
        for statement in walk(tree)
        if statement.type == "import_statement"
        for node in walk(statement)
        if node.type == "identifier"
    }
    assert called, path
    assert called <= declared | imported | RUNTIME_GLOBALS, path
