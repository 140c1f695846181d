"""Structural schemas, and what the API server does with them between
decoding an object and running its CEL rules.

For a custom resource the API server (kubernetes/apiextensions-apiserver
v0.34.5, that is Kubernetes v1.34.5) works in this order:

1. while decoding, ``pkg/apiserver/schema/defaulting/prunenulls.go``
   PruneNonNullableNullsWithoutDefaults drops a null from every field that
   is neither ``nullable`` nor defaulted, then ``defaulting/algorithm.go``
   Default writes each ``default:`` into a missing field (or over a null in a
   non-nullable one): ``prepare``;
2. the OpenAPI schema (jsonschema-rs over ``crds.to_json_schema``), so a
   required field that has a default is satisfied, and a required field
   written as null is missing;
3. ``objectmeta/validation.go`` Validate: an ``x-kubernetes-embedded-resource``
   needs apiVersion and kind, and valid metadata: ``embedded_problems``;
4. ``listtype/validation.go`` ValidateListSetsAndMaps: no duplicate in an
   ``x-kubernetes-list-type: set``, no duplicate key in a ``map``:
   ``list_problems``;
5. ``cel/validation.go``: the ``x-kubernetes-validations`` rules
   (``shipyard.schemas.cel``), unless step 2 found a blocking error.

Built-in kinds are decoded into Go structs instead: a null is an absent
field everywhere (``drop_nulls``); their defaults are Go code the schemas do
not carry, except those of list-map key fields (``list_key_defaults``),
which step 4 needs. Their list types come from the kubernetes-validate
schemas the kinds are validated against (``from_json_schema``).

Nothing here changes a body in place: rendered bodies are shared between
targets, so a body that needs a change is copied along the changed path
only, and an unchanged body is returned as it is (which is also what keeps
the common case, an object with no nulls and nothing to default, free).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Final

import jsonschema_rs

from shipyard.objects import JsonPath
from shipyard.schemas.metadata import is_dns1035_label

_MISSING: Final = object()

# A draft 2020-12 schema that accepts any JSON value without a null in it,
# at any depth: checking a body against it in Rust costs a fraction of a
# Python walk, and most bodies have no null to prune.
_NO_NULLS = jsonschema_rs.validator_for({
    "$defs": {"v": {"not": {"type": "null"}, "additionalProperties": {"$ref": "#/$defs/v"},
                    "items": {"$ref": "#/$defs/v"}}},
    "$ref": "#/$defs/v",
})


class Node:
    """One node of a structural schema, with what the walks below need
    precomputed: which children lead to a default, a list type, an
    embedded resource or a CEL rule (the walks only go there)."""

    __slots__ = (
        "type", "nullable", "default", "format", "int_or_string", "preserve", "embedded",
        "properties", "additional", "items", "all_of", "list_type", "map_keys", "rules", "source",
        "defaulted", "defaulting", "lists", "list_children", "probe", "has_embedded", "has_rules", "has_time",
        "cel",
    )

    def __init__(self) -> None:
        self.type: str = ""
        self.nullable = False
        self.default: Any = _MISSING
        self.format = ""
        self.int_or_string = False
        self.preserve = False
        self.embedded = False
        self.properties: dict[str, Node] = {}
        self.additional: Node | None = None
        self.items: Node | None = None
        self.all_of: tuple[Node, ...] = ()  # allOf branches: only their rules count (cel/validation.go)
        self.list_type = ""
        self.map_keys: tuple[str, ...] = ()
        self.rules: tuple[dict[str, Any], ...] = ()  # x-kubernetes-validations, as written
        self.source: JsonPath = ()  # where in the CRD's openAPIV3Schema this node is (for messages)
        self.defaulted: tuple[tuple[str, Node], ...] = ()  # properties that have a default
        self.defaulting = False  # something below this node has a default
        self.lists = False  # this node or one below is a list-type set or map
        self.list_children: tuple[tuple[str, Node], ...] = ()  # properties leading to one
        self.probe: Any = None  # at a root: the validators that find the lists to check (_probe)
        self.has_embedded = False
        self.has_rules = False
        self.has_time = False  # a date, date-time or duration string at or below (cel.py passes them as strings)
        self.cel: Any = None  # the compiled rules of this node (shipyard.schemas.cel), once asked for

    def child(self, key: str) -> Node | None:
        """The schema of field ``key`` (defaulting/prunenulls.go getSchemaForField)."""
        found = self.properties.get(key)
        return found if found is not None else self.additional


# --------------------------------------------------------------------------
# Building: from a CRD's openAPIV3Schema, or a kind's JSON Schema.


def from_crd(openapi: dict[str, Any]) -> Node:
    """The structural schema of a CRD version's openAPIV3Schema. Tolerates
    any shape: a malformed schema gives a node that checks less, never an
    exception."""
    root = _from_openapi(openapi, ())
    _finish([root])
    return root


def _from_openapi(raw: Any, source: JsonPath) -> Node:
    node = Node()
    node.source = source
    if not isinstance(raw, dict):
        return node
    kind = raw.get("type")
    node.type = kind if isinstance(kind, str) else ""
    node.nullable = raw.get("nullable") is True
    if "default" in raw:
        node.default = raw["default"]
    node.format = raw["format"] if isinstance(raw.get("format"), str) else ""
    node.int_or_string = raw.get("x-kubernetes-int-or-string") is True
    node.preserve = raw.get("x-kubernetes-preserve-unknown-fields") is True
    node.embedded = raw.get("x-kubernetes-embedded-resource") is True
    properties = raw.get("properties")
    if isinstance(properties, dict):
        node.properties = {
            name: _from_openapi(child, (*source, "properties", name))
            for name, child in properties.items() if isinstance(name, str)
        }
    if isinstance(raw.get("additionalProperties"), dict):
        node.additional = _from_openapi(raw["additionalProperties"], (*source, "additionalProperties"))
    if isinstance(raw.get("items"), dict):
        node.items = _from_openapi(raw["items"], (*source, "items"))
    branches = raw.get("allOf")
    if isinstance(branches, list):
        node.all_of = tuple(
            _from_openapi(branch, (*source, "allOf", i)) for i, branch in enumerate(branches) if isinstance(branch, dict)
        )
    _list_type(node, raw)
    rules = raw.get("x-kubernetes-validations")
    if isinstance(rules, list):
        node.rules = tuple(rule for rule in rules if isinstance(rule, dict))
    return node


def _list_type(node: Node, raw: dict[str, Any]) -> None:
    list_type = raw.get("x-kubernetes-list-type")
    if list_type in ("set", "map"):
        node.list_type = list_type
        keys = raw.get("x-kubernetes-list-map-keys")
        if isinstance(keys, list):
            node.map_keys = tuple(k for k in keys if isinstance(k, str))


def from_json_schema(schema: dict[str, Any], definitions: dict[str, Any], memo: dict[str, Node],
                     key_defaults: dict[str, dict[str, Any]]) -> Node:
    """The structural view of a built-in kind's JSON Schema (kubernetes-
    validate's), following ``$ref`` into ``definitions`` (its ``$defs``).
    ``memo`` shares the nodes of one schema set between kinds (and ties the
    recursive definitions, such as a CRD's JSONSchemaProps, into a graph);
    ``key_defaults`` gives list-map key fields their defaults."""
    root = _from_json(schema, definitions, memo, key_defaults)
    _finish([root])
    return root


def _from_json(raw: Any, definitions: dict[str, Any], memo: dict[str, Node],
               key_defaults: dict[str, dict[str, Any]]) -> Node:
    if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
        name = raw["$ref"].rsplit("/", 1)[-1]
        found = memo.get(name)
        if found is not None:
            return found
        node = memo[name] = Node()
        target = definitions.get(name)
        _fill_json(node, target if isinstance(target, dict) else {}, definitions, memo, key_defaults)
        for field, value in key_defaults.get(name, {}).items():
            child = node.properties.get(field)
            if child is not None and child.default is _MISSING:
                child.default = value
        return node
    node = Node()
    _fill_json(node, raw if isinstance(raw, dict) else {}, definitions, memo, key_defaults)
    return node


def _fill_json(node: Node, raw: dict[str, Any], definitions: dict[str, Any], memo: dict[str, Node],
               key_defaults: dict[str, dict[str, Any]]) -> None:
    kind = raw.get("type")
    if isinstance(kind, list):
        node.nullable = "null" in kind
        kind = next((k for k in kind if k != "null"), "")
    node.type = kind if isinstance(kind, str) else ""
    properties = raw.get("properties")
    if isinstance(properties, dict):
        node.properties = {name: _from_json(child, definitions, memo, key_defaults) for name, child in properties.items()}
    if isinstance(raw.get("additionalProperties"), dict):
        node.additional = _from_json(raw["additionalProperties"], definitions, memo, key_defaults)
    if isinstance(raw.get("items"), dict):
        node.items = _from_json(raw["items"], definitions, memo, key_defaults)
    _list_type(node, raw)


def _finish(roots: list[Node]) -> None:
    """Compute the "something below" flags. Nodes are visited children
    first (the reverse of a depth-first preorder), so a tree (a CRD's
    schema) takes one pass; built-in schemas are graphs with cycles, which
    take a few more, to a fixed point."""
    nodes: list[Node] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.properties.values())
        if node.additional is not None:
            stack.append(node.additional)
        if node.items is not None:
            stack.append(node.items)
        stack.extend(node.all_of)
    nodes.reverse()
    for node in nodes:
        node.defaulted = tuple((k, c) for k, c in node.properties.items() if c.default is not _MISSING)
    changed = True
    while changed:
        changed = False
        for node in nodes:
            defaulting, lists, embedded, rules, time = (
                bool(node.defaulted), node.list_type != "", node.embedded, bool(node.rules),
                node.format in ("date", "date-time", "duration"))
            for child in node.properties.values():
                defaulting = defaulting or child.defaulting
                lists = lists or child.lists
                embedded = embedded or child.has_embedded
                rules = rules or child.has_rules
                time = time or child.has_time
            for inner in (node.additional, node.items):
                if inner is not None:
                    defaulting = defaulting or inner.defaulting or inner.default is not _MISSING
                    lists = lists or inner.lists
                    embedded = embedded or inner.has_embedded
                    rules = rules or inner.has_rules
                    time = time or inner.has_time
            for child in node.all_of:
                embedded = embedded or child.has_embedded
                rules = rules or child.has_rules
            if (defaulting, lists, embedded, rules, time) != (
                    node.defaulting, node.lists, node.has_embedded, node.has_rules, node.has_time):
                node.defaulting, node.lists, node.has_embedded, node.has_rules, node.has_time = (
                    defaulting, lists, embedded, rules, time)
                changed = True
    for node in nodes:
        node.list_children = tuple((k, c) for k, c in node.properties.items() if c.lists)


# --------------------------------------------------------------------------
# Step 1: nulls and defaults.


@dataclass(frozen=True)
class Prepared:
    """A body as the API server validates it, and the fields whose null it
    dropped (a required one among them is reported as required, at the
    null's own line)."""

    body: Any
    nulls: frozenset[JsonPath]


def has_nulls(body: Any) -> bool:
    return not _NO_NULLS.is_valid(body)


def prepare(body: Any, root: Node) -> Prepared:
    """PruneNonNullableNullsWithoutDefaults, then Default: a custom
    resource as its CRD's schema validates it."""
    nulls: list[JsonPath] = []
    if has_nulls(body):
        body = _prune(body, root, (), nulls)
    if root.defaulting:
        body = _default(body, root)
    return Prepared(body, frozenset(nulls))


def _prune(value: Any, node: Node, path: JsonPath, nulls: list[JsonPath]) -> Any:
    cls = value.__class__
    if cls is dict:
        out: dict[str, Any] | None = None
        for key, child_value in value.items():
            child = node.child(key)
            if child is None:
                continue  # nothing known below: upstream recurses with no schema and prunes nothing
            if child_value is None:
                if not child.nullable and child.default is _MISSING:
                    if out is None:
                        out = dict(value)
                    del out[key]
                    nulls.append((*path, key))
                continue
            if child_value.__class__ is dict or child_value.__class__ is list:
                pruned = _prune(child_value, child, (*path, key), nulls)
                if pruned is not child_value:
                    if out is None:
                        out = dict(value)
                    out[key] = pruned
        return value if out is None else out
    if cls is list and node.items is not None:
        items = node.items
        copied: list[Any] | None = None
        for index, item in enumerate(value):
            if item.__class__ is dict or item.__class__ is list:
                pruned = _prune(item, items, (*path, index), nulls)
                if pruned is not item:
                    if copied is None:
                        copied = list(value)
                    copied[index] = pruned
        return value if copied is None else copied
    return value


def _default(value: Any, node: Node) -> Any:
    cls = value.__class__
    if cls is dict:
        out: dict[str, Any] | None = None
        for key, prop in node.defaulted:
            current = value.get(key, _MISSING)
            if current is _MISSING or (current is None and not prop.nullable):
                if out is None:
                    out = dict(value)
                out[key] = copy.deepcopy(prop.default)
        source = value if out is None else out
        additional = node.additional
        for key, child_value in source.items():
            schema = node.properties.get(key)
            if schema is None:
                if additional is None:
                    continue
                schema = additional
                if child_value is None and not additional.nullable:
                    replaced = copy.deepcopy(additional.default) if additional.default is not _MISSING else None
                    if replaced is not None:
                        if out is None:
                            out = dict(value)
                        out[key] = child_value = replaced
            if schema.defaulting and (child_value.__class__ is dict or child_value.__class__ is list):
                defaulted = _default(child_value, schema)
                if defaulted is not child_value:
                    if out is None:
                        out = dict(value)
                    out[key] = defaulted
        return value if out is None else out
    if cls is list and node.items is not None:
        items = node.items
        copied: list[Any] | None = None
        for index, item in enumerate(value):
            new = item
            if item is None and not items.nullable and items.default is not _MISSING:
                new = copy.deepcopy(items.default)
            if items.defaulting and (new.__class__ is dict or new.__class__ is list):
                new = _default(new, items)
            if new is not item:
                if copied is None:
                    copied = list(value)
                copied[index] = new
        return value if copied is None else copied
    return value


def drop_nulls(body: Any) -> Prepared:
    """A built-in object as Go decodes it: a null field is an absent one
    (a null list item is kept: it decodes to an empty struct, which the
    schema reports)."""
    nulls: list[JsonPath] = []
    if not has_nulls(body):
        return Prepared(body, frozenset())
    return Prepared(_drop(body, (), nulls), frozenset(nulls))


def _drop(value: Any, path: JsonPath, nulls: list[JsonPath]) -> Any:
    if value.__class__ is dict:
        out: dict[str, Any] | None = None
        for key, child in value.items():
            if child is None:
                if out is None:
                    out = dict(value)
                del out[key]
                nulls.append((*path, key))
            elif child.__class__ is dict or child.__class__ is list:
                new = _drop(child, (*path, key), nulls)
                if new is not child:
                    if out is None:
                        out = dict(value)
                    out[key] = new
        return value if out is None else out
    if value.__class__ is list:
        copied: list[Any] | None = None
        for index, item in enumerate(value):
            if item.__class__ is dict or item.__class__ is list:
                new = _drop(item, (*path, index), nulls)
                if new is not item:
                    if copied is None:
                        copied = list(value)
                    copied[index] = new
        return value if copied is None else copied
    return value


# --------------------------------------------------------------------------
# Step 4: list-type sets and maps.


@dataclass(frozen=True)
class Problem:
    """Something the API server refuses, at ``path`` in the object."""

    path: JsonPath
    message: str


def list_problems(body: Any, root: Node, *, null_is_absent: bool = False) -> list[Problem]:
    """Duplicates in x-kubernetes-list-type sets and duplicate keys in
    list-type maps (listtype/validation.go ValidateListSetsAndMaps).
    A key field the entry leaves out counts with its default; with
    ``null_is_absent`` (built-in kinds) a null key field is left out."""
    if not root.lists:
        return []
    probe = _probe(root, null_is_absent)
    if probe.is_valid(body):
        return []
    out: list[Problem] = []
    for error in probe.iter_errors(body):
        path: JsonPath = tuple(error.instance_path)
        node = _node_along(root, path)
        value = _value_along(body, path)
        if node is None or value.__class__ is not list:
            continue
        if node.list_type == "set":
            _check_set(value, path, out)
        elif node.list_type == "map":
            _check_map(value, node, path, out, null_is_absent)
    return out


def _probe(root: Node, null_is_absent: bool) -> Any:
    """A validator, kept on the root, that fails exactly where a list-type
    set or map has a duplicate. Every object of a run is checked, so the
    walk is jsonschema-rs's, in Rust, over only the paths that lead to a
    list type; a list of two entries or more (``anyOf: [maxItems: 1, ...]``)
    is handed to ``_has_duplicate`` through a custom keyword. Only an object
    with a duplicate is looked at again, to say where and what."""
    probes = root.probe
    if probes is None:
        probes = root.probe = {}
    found = probes.get(null_is_absent)
    if found is not None:
        return found
    names: dict[int, str] = {}
    by_name: dict[str, Node] = {}
    defs: dict[str, Any] = {}

    def ref(node: Node) -> dict[str, str]:
        name = names.setdefault(id(node), f"n{len(names)}")
        by_name[name] = node
        return {"$ref": "#/$defs/" + name}

    pending = [root]
    ref(root)
    while pending:
        node = pending.pop()
        name = names[id(node)]
        if name in defs:
            continue
        entry: dict[str, Any] = {}
        if node.list_type:
            entry["anyOf"] = [{"maxItems": 1}, {"x-shipyard-list-type": name}]
        properties = {key: ref(child) for key, child in node.list_children}
        pending.extend(child for _, child in node.list_children)
        if properties:
            entry["properties"] = properties
        for keyword, child in (("additionalProperties", node.additional), ("items", node.items)):
            if child is not None and child.lists:
                entry[keyword] = ref(child)
                pending.append(child)
        defs[name] = entry

    class ListType:
        def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[str | int]) -> None:
            self.node = by_name[value]

        def validate(self, instance: Any) -> None:
            if instance.__class__ is list and _has_duplicate(instance, self.node, null_is_absent):
                raise ValueError("duplicate")

    found = probes[null_is_absent] = jsonschema_rs.validator_for(
        {"$defs": defs, "$ref": "#/$defs/n0"}, keywords={"x-shipyard-list-type": ListType})
    return found


def _has_duplicate(items: list[Any], node: Node, null_is_absent: bool) -> bool:
    if node.list_type == "set":
        keys = [_scalar_key(item) for item in items]
        return len(set(keys)) < len(keys)
    if any(item is not None and item.__class__ is not dict for item in items):
        return False  # not a list of objects: a type error, reported by the schema
    key_nodes = node.items.properties if node.items is not None else {}
    seen: set[Any] = set()
    for item in items:
        key = tuple((field, _scalar_key(value)) for field in node.map_keys
                    if (value := _key_value(item, field, key_nodes, null_is_absent)) is not _MISSING)
        if key in seen:
            return True
        seen.add(key)
    return False


def _node_along(root: Node, path: JsonPath) -> Node | None:
    node: Node | None = root
    for part in path:
        if node is None:
            return None
        node = node.items if isinstance(part, int) else node.child(part)
    return node


def _value_along(body: Any, path: JsonPath) -> Any:
    value = body
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _scalar_key(value: Any) -> Any:
    """A set member as Go compares it: 1, 1.0 and true are different
    values (Python's == says otherwise); objects and lists by their JSON."""
    cls = value.__class__
    if cls is dict or cls is list:
        return ("json", json.dumps(value, sort_keys=True, separators=(",", ":"), default=str))
    return (cls.__name__, value)


def _check_set(items: list[Any], path: JsonPath, out: list[Problem]) -> None:
    first: dict[Any, int] = {}
    counted: dict[Any, int] = {}
    for index, item in enumerate(items):
        key = _scalar_key(item)
        times = counted.get(key, 0)
        if times == 0:
            first[key] = index
        elif times == 1:  # the API server names the second occurrence only
            out.append(Problem((*path, index), f"duplicate entry {_show(item)} in an x-kubernetes-list-type set"
                                               f" (the same as [{first[key]}]): the API server refuses it"))
        counted[key] = times + 1


def _check_map(items: list[Any], node: Node, path: JsonPath, out: list[Problem], null_is_absent: bool) -> None:
    if any(item is not None and item.__class__ is not dict for item in items):
        return  # not a list of objects: a type error, reported by the schema
    key_nodes = node.items.properties if node.items is not None else {}
    first: dict[Any, int] = {}
    counted: dict[Any, int] = {}
    for index, item in enumerate(items):
        key = tuple((field, _scalar_key(value)) for field in node.map_keys
                    if (value := _key_value(item, field, key_nodes, null_is_absent)) is not _MISSING)
        times = counted.get(key, 0)
        if times == 0:
            first[key] = index
        elif times == 1:  # the API server names the second occurrence only
            shown = []
            for field in node.map_keys:
                value = _key_value(item, field, key_nodes, null_is_absent)
                if value is not _MISSING:
                    written = item is not None and item.get(field) is not None
                    shown.append(f"{field}={_show(value)}" + ("" if written else " (its default)"))
            what = ", ".join(shown) if shown else f"no {', '.join(node.map_keys) or 'key'}"
            out.append(Problem(
                (*path, index),
                f"duplicate key {what}: [{first[key]}] has the same; the list is an x-kubernetes-list-type map"
                f" keyed by {', '.join(node.map_keys)}, so the API server refuses the object",
            ))
        counted[key] = times + 1


def _key_value(item: dict[str, Any] | None, field: str, key_nodes: dict[str, Node], null_is_absent: bool) -> Any:
    """A key field's value as the API server compares it: its default when
    left out (and, for built-in kinds, when null)."""
    value = _MISSING if item is None else item.get(field, _MISSING)
    if value is None and null_is_absent:
        value = _MISSING
    if value is _MISSING:
        key_node = key_nodes.get(field)
        if key_node is not None and key_node.default is not _MISSING:
            return key_node.default
    return value


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------
# Step 3: embedded resources.

MetaCheck = Callable[[dict[str, Any], str, str], list[Problem]]


def embedded_problems(body: Any, root: Node, meta_check: MetaCheck | None) -> list[Problem]:
    """objectmeta/validation.go Validate for the embedded resources of a
    custom resource (its own root is validated as an object already):
    apiVersion and kind required and well formed, metadata checked by
    ``meta_check(metadata, api_version, kind)`` (paths relative to it)."""
    out: list[Problem] = []
    if root.has_embedded:
        _embedded(body, root, (), out, meta_check, is_root=True)
    return out


def _embedded(value: Any, node: Node, path: JsonPath, out: list[Problem], meta_check: MetaCheck | None,
              is_root: bool = False) -> None:
    cls = value.__class__
    if cls is dict:
        if node.embedded and not is_root:
            out.extend(_embedded_resource(value, path, meta_check))
        for key, child in value.items():
            prop = node.properties.get(key) or node.additional
            if prop is not None and prop.has_embedded and (child.__class__ is dict or child.__class__ is list):
                _embedded(child, prop, (*path, key), out, meta_check)
    elif cls is list and node.items is not None and node.items.has_embedded:
        for index, item in enumerate(value):
            _embedded(item, node.items, (*path, index), out, meta_check)


def _embedded_resource(value: dict[str, Any], path: JsonPath, meta_check: MetaCheck | None) -> list[Problem]:
    out: list[Problem] = []
    for field in ("apiVersion", "kind"):
        if field not in value:
            out.append(Problem((*path, field), f"{field} is required: the object is an embedded resource"
                                               " (x-kubernetes-embedded-resource)"))
    api_version, kind = value.get("apiVersion"), value.get("kind")
    if "apiVersion" in value:
        if not isinstance(api_version, str):
            out.append(Problem((*path, "apiVersion"), "apiVersion must be a string"))
        elif not api_version:
            out.append(Problem((*path, "apiVersion"), "apiVersion must not be empty"))
        elif api_version != "/" and api_version.count("/") > 1:
            out.append(Problem((*path, "apiVersion"), f"unexpected GroupVersion string: {api_version}"))
    if "kind" in value:
        if not isinstance(kind, str):
            out.append(Problem((*path, "kind"), "kind must be a string"))
        elif not kind:
            out.append(Problem((*path, "kind"), "kind must not be empty"))
        else:
            errors = is_dns1035_label(kind.lower())
            if errors:
                out.append(Problem((*path, "kind"), f"Invalid value: {json.dumps(kind)}: may have mixed case, but"
                                                    f" should otherwise match: {','.join(errors)}"))
    if "metadata" in value:
        metadata = value["metadata"]
        if not isinstance(metadata, dict):
            out.append(Problem((*path, "metadata"), "metadata must be an object"))
        elif meta_check is not None:
            if not metadata.get("name"):
                # objectmeta/validation.go: "we have to set something to avoid an error"
                metadata = {**metadata, "name": "fakename"}
            out.extend(Problem((*path, "metadata", *p.path), p.message) for p in meta_check(
                metadata, api_version if isinstance(api_version, str) else "", kind if isinstance(kind, str) else ""))
    return out
