"""Tiny request simulators for the rendered Envoy and Kong configs (test helper).

Neither gateway runs here (no image can be pulled), so these walk a rendered config the
way the gateway does: Envoy applies its connection manager's path, header and upgrade
checks, takes the first matching route and runs the HTTP filters in order (basic_auth,
the Lua filter for real under LuaJIT via lupa, RBAC, router); Kong takes the matching
route of highest priority and runs its plugins in Kong's plugin priority order (key-auth,
basic-auth, acl, request-transformer with its Lua templates evaluated under LuaJIT,
request-termination, post-function under LuaJIT with a small PDK stand-in). The
simulators read only the rendered files, never the route table.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from lupa import luajit21


@dataclass
class Outcome:
    """What the gateway did: a status it answered itself, or where it sent the request."""

    status: int
    route: str | None = None
    host: str | None = None
    port: int | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: The body of a response the gateway gave itself.
    body: str | None = None

    @property
    def forwarded(self) -> bool:
        return self.host is not None

    @property
    def upstream_path(self) -> str | None:
        return None if self.path is None else self.path.split("?", 1)[0]


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    return user, password


def _load(content: str) -> Any:
    """YAML as the gateways read it (libyaml's loader when present: the same result, faster)."""
    return yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _merge_slashes(path: str) -> str:
    bare, mark, query = path.partition("?")
    return re.sub("/{2,}", "/", bare) + mark + query


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on a path whose ``%2e`` are dots again (Envoy's normalize_path)."""
    bare, mark, query = path.partition("?")
    segments = re.sub("%2[eE]", ".", bare).split("/")[1:]
    kept: list[str] = []
    for index, segment in enumerate(segments):
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if index == len(segments) - 1:
                kept.append("")  # "/a/b/.." is the directory "/a/"
        else:
            kept.append(segment)
    return "/" + "/".join(kept) + mark + query


#: The address every simulated request comes from (a container on the project network).
PEER = "172.20.0.9"


def _lua() -> Any:
    return luajit21.LuaRuntime(unpack_returned_tuples=True)


# --- Envoy ---------------------------------------------------------------------------

_ENVOY_HANDLE = """
function(headers, route_name)
  local responded = {}
  local map = {}
  function map:get(name) return headers[string.lower(name)] end
  function map:replace(name, value) headers[string.lower(name)] = value end
  function map:add(name, value) headers[string.lower(name)] = value end
  function map:remove(name) headers[string.lower(name)] = nil end
  local info = {}
  function info:routeName() return route_name end
  local handle = {}
  function handle:headers() return map end
  function handle:streamInfo() return info end
  function handle:respond(response_headers, body)
    responded.status = response_headers[":status"]
    responded.body = body
  end
  return handle, responded
end
"""


class EnvoySim:
    def __init__(self, files: dict[str, str]) -> None:
        self.bootstrap = _load(files["/etc/envoy/envoy.yaml"])
        lds = _load(
            files[self.bootstrap["dynamic_resources"]["lds_config"]["path_config_source"]["path"]]
        )
        cds = _load(
            files[self.bootstrap["dynamic_resources"]["cds_config"]["path_config_source"]["path"]]
        )
        (listener,) = lds["resources"]
        self.port = listener["address"]["socket_address"]["port_value"]
        (chain,) = listener["filter_chains"]
        (hcm_filter,) = chain["filters"]
        self.hcm = hcm_filter["typed_config"]
        (self.vhost,) = self.hcm["route_config"]["virtual_hosts"]
        self.filters = self.hcm["http_filters"]
        self.clusters = {}
        for cluster in cds["resources"]:
            (group,) = cluster["load_assignment"]["endpoints"]
            (endpoint,) = group["lb_endpoints"]
            address = endpoint["endpoint"]["address"]["socket_address"]
            self.clusters[cluster["name"]] = (address["address"], address["port_value"])

    def _match(self, path: str) -> dict[str, Any] | None:
        for route in self.vhost["routes"]:
            match = route["match"]
            if "path" in match and path == match["path"]:
                return route
            if "prefix" in match and path.startswith(match["prefix"]):
                return route
        return None

    def handle(self, path: str, headers: dict[str, str] | None = None) -> Outcome:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        options = self.hcm.get("common_http_protocol_options", {})
        if options.get("headers_with_underscores_action") == "REJECT_REQUEST" and any(
            "_" in name for name in headers
        ):
            return Outcome(400)
        escaped = re.search("%(2[fF]|5[cC])", path.partition("?")[0])
        if escaped and self.hcm.get("path_with_escaped_slashes_action") == "REJECT_REQUEST":
            return Outcome(400)
        upgrade = headers.get("upgrade", "").lower()
        allowed = {u["upgrade_type"].lower() for u in self.hcm["upgrade_configs"]}
        if upgrade and upgrade not in allowed:
            return Outcome(403)  # Envoy refuses an upgrade it is not configured for
        if self.hcm.get("normalize_path"):
            path = _remove_dot_segments(path)
        if self.hcm.get("merge_slashes"):
            path = _merge_slashes(path)
        full_path = path
        authority = headers.get("host", "gateway").rsplit(":", 1)[0]
        if not {"*", authority} & set(self.vhost["domains"]):
            return Outcome(404)  # no virtual host takes the request
        route = self._match(urlsplit(path).path)
        if route is None:
            return Outcome(404)
        name = route.get("name")
        per_filter = route.get("typed_per_filter_config", {})
        for http_filter in self.filters:
            filter_name = http_filter["name"]
            override = per_filter.get(filter_name, {})
            if override.get("disabled"):
                continue
            config = http_filter["typed_config"]
            if filter_name.endswith("basic_auth"):
                users = {}
                for line in config["users"]["inline_string"].splitlines():
                    user, _, hashed = line.partition(":")
                    users[user] = hashed
                creds = _basic(headers.get("authorization"))
                if (
                    creds is None
                    or users.get(creds[0])
                    != "{SHA}" + base64.b64encode(hashlib.sha1(creds[1].encode()).digest()).decode()
                ):
                    return Outcome(401, name)
            elif filter_name.endswith(".lua"):
                headers[":path"] = full_path
                status, body = self._run_lua(
                    config["default_source_code"]["inline_string"], headers, name
                )
                full_path = headers.pop(":path")
                if status is not None:
                    return Outcome(status, name, body=body)
            elif filter_name.endswith(".rbac"):
                rules = override.get("rbac", {}).get("rules", config.get("rules"))
                if not self._rbac_allows(rules, headers):
                    return Outcome(403, name, body="RBAC: access denied")
            elif filter_name.endswith(".router"):
                return self._route(route, full_path, headers)
        raise AssertionError("no router filter")

    @staticmethod
    def _run_lua(
        code: str, headers: dict[str, str], route_name: str | None
    ) -> tuple[int | None, str | None]:
        lua = _lua()
        lua.execute(code)
        table = lua.table_from(headers)
        handle, responded = lua.eval(_ENVOY_HANDLE)(table, route_name)
        lua.globals().envoy_on_request(handle)
        headers.clear()
        headers.update(dict(table.items()))
        if responded["status"] is not None:
            return int(responded["status"]), responded["body"]
        return None, None

    def _forwarded_for(self, headers: dict[str, str]) -> None:
        """X-Forwarded-For/-Proto as Envoy's connection manager sets them (plain-HTTP listener).

        With ``use_remote_address`` the peer's address is appended; the client's own
        X-Forwarded-Proto is kept only from a trusted hop (``xff_num_trusted_hops``).
        """
        if self.hcm.get("use_remote_address"):
            sent = headers.get("x-forwarded-for")
            headers["x-forwarded-for"] = f"{sent}, {PEER}" if sent else PEER
        if not self.hcm.get("xff_num_trusted_hops") or "x-forwarded-proto" not in headers:
            headers["x-forwarded-proto"] = "http"

    @staticmethod
    def _principal_matches(principal: dict[str, Any], headers: dict[str, str]) -> bool:
        if principal.get("any"):
            return True
        header = principal["header"]
        return headers.get(header["name"].lower()) == header["string_match"]["exact"]

    def _rbac_allows(self, rules: dict[str, Any], headers: dict[str, str]) -> bool:
        matched = any(
            any(self._principal_matches(p, headers) for p in policy["principals"])
            and any(p.get("any") for p in policy["permissions"])
            for policy in (rules.get("policies") or {}).values()
        )
        return matched if rules.get("action", "ALLOW") == "ALLOW" else not matched

    def _route(self, route: dict[str, Any], full_path: str, headers: dict[str, str]) -> Outcome:
        name = route.get("name")
        if "direct_response" in route:
            response = route["direct_response"]
            return Outcome(response["status"], name, body=response["body"]["inline_string"])
        action = route["route"]
        host, port = self.clusters[action["cluster"]]
        path, _, query = full_path.partition("?")
        match = route["match"]
        matched = match.get("prefix", match.get("path"))
        path = action["prefix_rewrite"] + path[len(matched) :]
        for header in route.get("request_headers_to_remove", []):
            headers.pop(header.lower(), None)
        # The command operators the config uses, as Envoy fills them in (before host_rewrite).
        variables = {
            "%REQ(:AUTHORITY)%": headers.get("host", ""),
            "%DOWNSTREAM_LOCAL_PORT%": str(self.port),
        }
        added = [*route.get("request_headers_to_add", []), *self.vhost["request_headers_to_add"]]
        for entry in added:
            key, value = entry["header"]["key"].lower(), entry["header"]["value"]
            value = variables.get(value, value)
            if entry.get("append_action") == "OVERWRITE_IF_EXISTS_OR_ADD":
                headers[key] = value
            else:
                headers.setdefault(key, value)
        self._forwarded_for(headers)
        headers["host"] = action.get("host_rewrite_literal", headers.get("host", "gateway"))
        return Outcome(200, name, host, port, path + ("?" + query if query else ""), headers)


# --- Kong ----------------------------------------------------------------------------

#: Kong's plugin priorities (higher runs first in the access phase).
KONG_PLUGIN_PRIORITY = {
    "cors": 2000,
    "key-auth": 1250,
    "basic-auth": 1100,
    "acl": 950,
    "request-transformer": 801,
    "request-termination": 2,
    "post-function": -1000,
}

_EXPRESSION = re.compile(r'^http\.path (==|\^=) "([^"]*)"$')

_KONG_PDK = """
function(headers)
  local exited = {}
  local kong = {request = {}, service = {request = {}}, response = {}}
  function kong.request.get_header(name) return headers[string.lower(name)] end
  function kong.service.request.set_header(name, value) headers[string.lower(name)] = value end
  function kong.service.request.clear_header(name) headers[string.lower(name)] = nil end
  function kong.response.exit(status, body) exited.status = status; exited.body = body end
  return kong, exited
end
"""


class KongSim:
    def __init__(self, files: dict[str, str]) -> None:
        (content,) = files.values()
        self.config = _load(content)
        #: Without ``_transform`` Kong takes credentials' passwords as already hashed.
        self.plain_passwords = self.config.get("_transform", False) is True
        self.keys: dict[str, str] = {}
        self.groups: dict[str, set[str]] = {}
        self.basic: dict[str, tuple[str, str]] = {}
        for consumer in self.config["consumers"]:
            user = consumer["username"]
            for credential in consumer.get("keyauth_credentials", []):
                assert credential["key"] not in self.keys, "a key may belong to one consumer"
                self.keys[credential["key"]] = user
            self.groups[user] = {acl["group"] for acl in consumer.get("acls", [])}
            for credential in consumer.get("basicauth_credentials", []):
                self.basic[credential["username"]] = (credential["password"], user)

    def _match(self, path: str) -> tuple[dict[str, Any], dict[str, Any], str] | None:
        best = None
        for service in self.config["services"]:
            for route in service["routes"]:
                operator, value = _EXPRESSION.match(route["expression"]).groups()
                hit = path == value if operator == "==" else path.startswith(value)
                if hit and (best is None or route["priority"] > best[1]["priority"]):
                    best = (service, route, value)
        return best

    def handle(self, path: str, headers: dict[str, str] | None = None) -> Outcome:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        split = urlsplit(_merge_slashes(path))  # nginx's merge_slashes is on by default
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        found = self._match(split.path)
        if found is None:
            return Outcome(404)
        service, route, matched = found
        name = route["name"]
        consumer = None
        plugins = sorted(service.get("plugins", []), key=lambda p: -KONG_PLUGIN_PRIORITY[p["name"]])
        for plugin in plugins:
            kind, config = plugin["name"], plugin.get("config", {})
            if kind == "key-auth":
                key = headers.get("apikey") or query.get("apikey")
                if not key or key not in self.keys:
                    return Outcome(401, name)
                consumer = self.keys[key]
                if config.get("hide_credentials"):
                    headers.pop("apikey", None)
            elif kind == "basic-auth":
                creds = _basic(headers.get("authorization"))
                known = self.basic.get(creds[0]) if creds else None
                if known is None or not self.plain_passwords or known[0] != creds[1]:
                    return Outcome(401, name)
                consumer = self.basic[creds[0]][1]
                if config.get("hide_credentials"):
                    headers.pop("authorization", None)
            elif kind == "acl":
                if consumer is None or not self.groups[consumer] & set(config["allow"]):
                    return Outcome(403, name)
                if not config.get("hide_groups_header"):
                    headers["x-consumer-groups"] = ", ".join(sorted(self.groups[consumer]))
            elif kind == "request-transformer":
                self._transform(config, headers, query)
            elif kind == "request-termination":
                return Outcome(config["status_code"], name, body=config.get("message"))
            elif kind == "post-function":
                for code in config["access"]:
                    status, body = self._post_function(code, headers)
                    if status is not None:
                        return Outcome(status, name, body=body)
        url = urlsplit(service["url"])
        base = url.path or "/"
        postfix = split.path[len(matched) :] if route.get("strip_path") else split.path[1:]
        if not postfix:
            upstream = base
        elif base.endswith("/"):
            upstream = base + postfix.removeprefix("/")
        else:
            upstream = base + ("" if postfix.startswith("/") else "/") + postfix
        if query:
            upstream += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        headers["host"] = url.hostname
        return Outcome(200, name, url.hostname, url.port, upstream, headers)

    @staticmethod
    def _render(template: str, headers: dict[str, str], query: dict[str, str]) -> str:
        if not template.startswith("$(") or not template.endswith(")"):
            return template
        lua = _lua()
        evaluate = lua.eval(
            "function(source, headers, query) "
            "local f = assert(loadstring('return ' .. source)); "
            "setfenv(f, {headers = headers, query_params = query}); return f() end"
        )
        value = evaluate(template[2:-1], lua.table_from(headers), lua.table_from(query))
        return "" if value is None else str(value)

    def _transform(
        self, config: dict[str, Any], headers: dict[str, str], query: dict[str, str]
    ) -> None:
        def pairs(section: str, kind: str) -> list[tuple[str, str]]:
            return [
                tuple(item.split(":", 1))  # type: ignore[misc]
                for item in config.get(section, {}).get(kind, [])
            ]

        for name in config.get("remove", {}).get("headers", []):
            headers.pop(name.lower(), None)
        snapshot_h, snapshot_q = dict(headers), dict(query)
        for name, template in pairs("replace", "headers"):
            if name.lower() in headers:
                headers[name.lower()] = self._render(template, snapshot_h, snapshot_q)
        for name, template in pairs("replace", "querystring"):
            if name in query:
                query[name] = self._render(template, snapshot_h, snapshot_q)
        for name, template in pairs("add", "headers"):
            if name.lower() not in headers:
                headers[name.lower()] = self._render(template, snapshot_h, snapshot_q)

    @staticmethod
    def _post_function(code: str, headers: dict[str, str]) -> tuple[int | None, str | None]:
        lua = _lua()
        table = lua.table_from(headers)
        kong, exited = lua.eval(_KONG_PDK)(table)
        lua.globals().kong = kong
        lua.eval(f"function() {code} end")()
        headers.clear()
        headers.update(dict(table.items()))
        if exited["status"] is None:
            return None, None
        return int(exited["status"]), exited["body"]
