"""Run the real promtool on PrometheusRules: `check rules` for validate
(SY317), `test rules` for the alert tests beside each model.

Why the real one: Prometheus accepts a rule group only when every expression
parses, every duration and label name is valid and every template renders,
and the Prometheus Operator refuses a whole PrometheusRule when one rule in
it fails (prometheus-operator v0.93.0 pkg/operator/rules.go ValidateRule,
which calls Prometheus's own rulefmt). promtool runs exactly that code
(prometheus v2.42 cmd/promtool/main.go CheckRules -> rulefmt.ParseFile).

What promtool reads is what the operator would hand Prometheus: each
PrometheusRule's ``spec`` in a file of its own (the operator writes one file
per object, so group names are unique per object), with the fields the
operator's Go types know and after its sanitizePrometheusRulesSpec for a
Prometheus of promtool's version: ``partial_response_strategy`` (Thanos
only), ``query_offset`` (Prometheus 2.53+) and group ``labels`` (3.0+) are
dropped, empty ``for`` and ``interval`` are omitted. Unknown fields are left
to the schema checks (SY1xx), which report them at their line.

One promtool process checks every PrometheusRule of a validate run; its
messages name the temporary file and a line in it, which are mapped back to
the PrometheusRule's own file and line.

promtool is pinned like helm and kubectl (render/binaries.py): Debian's
``prometheus`` package, version 2.42, which `make setup` installs
(tools/install.py). ``SHIPYARD_PROMTOOL`` names another binary; it must be
2.42 too.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import yaml

from shipyard.errors import ShipyardError, ToolMissing
from shipyard.ids import TOOL_MISSING, USAGE
from shipyard.load import load_documents, read_text
from shipyard.shapes import as_dict
from shipyard.render.run import run_process, tool_timeout

PROMTOOL_VERSION = "2.42"  # major.minor; `promtool --version` must report it
DEBIAN_PACKAGE = "prometheus"
DEBIAN_VERSION = "2.42.0+ds-5+deb12u1"  # the pin tools/install.py installs (kept equal by a test)
ENV = "SHIPYARD_PROMTOOL"
CHECK_TIMEOUT = 120.0
SETUP_HINT = (
    f"run `make setup` (as root on Debian it installs {DEBIAN_PACKAGE}={DEBIAN_VERSION}, which carries "
    f"promtool), or `apt-get install -y --no-install-recommends {DEBIAN_PACKAGE}={DEBIAN_VERSION}` by hand, or "
    f"set {ENV} to a promtool {PROMTOOL_VERSION}"
)

JsonPath = tuple[str | int, ...]

# The fields of prometheus-operator v0.93.0's RuleGroup and Rule types that reach Prometheus 2.42.
_GROUP_FIELDS = ("name", "interval", "limit", "rules")
_RULE_FIELDS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")


@dataclass(frozen=True)
class Promtool:
    path: str
    version: str


def _candidates() -> list[str]:
    """``SHIPYARD_PROMTOOL`` alone when set (an explicit choice that does not
    work is reported, never replaced); else the virtual environment's, then PATH."""
    chosen = os.environ.get(ENV)
    if chosen:
        return [chosen]
    found: list[str] = []
    venv_bin = Path(sys.prefix) / "bin" / "promtool"
    if venv_bin.is_file():
        found.append(str(venv_bin))
    on_path = shutil.which("promtool")
    if on_path and on_path not in found:
        found.append(on_path)
    return found


def _version(path: str) -> tuple[str, str]:
    """(version, "") or ("", why none was read)."""
    try:
        out = run_process([path, "--version"], timeout=min(30.0, tool_timeout(30.0)))
    except FileNotFoundError:
        return "", "not found"
    except PermissionError:
        return "", "not executable"
    except OSError as exc:
        return "", f"cannot run: {exc.strerror or exc}"
    except subprocess.TimeoutExpired:
        return "", "no answer to --version"
    text = out.stdout + out.stderr
    match = re.search(r"promtool, version (\d+\.\d+\.\d+)", text)
    if match:
        return match.group(1), ""
    first = text.strip().splitlines()[0][:80] if text.strip() else f"printed nothing, exit code {out.returncode}"
    return "", first


@functools.lru_cache(maxsize=1)
def find_promtool() -> Promtool:
    """The pinned promtool, or ToolMissing (SY901) saying what was seen and what to do."""
    seen: list[str] = []
    for candidate in _candidates():
        version, problem = _version(candidate)
        if version.startswith(PROMTOOL_VERSION + "."):
            return Promtool(candidate, version)
        seen.append(f"{candidate} ({problem or 'version ' + version})")
    where = "; ".join(seen) or "none on PATH or in the virtual environment"
    hint = (f"{ENV} names a promtool that is not {PROMTOOL_VERSION}: point it at one that is, or unset it"
            if os.environ.get(ENV) else SETUP_HINT)
    raise ToolMissing(f"promtool {PROMTOOL_VERSION} not found (seen: {where}); PrometheusRules cannot be checked",
                      hint=hint, check=TOOL_MISSING)


# --- what promtool reads ----------------------------------------------------

def rule_groups(spec_groups: Any) -> Any:
    """A PrometheusRule's ``spec.groups`` as the operator passes them to a
    Prometheus 2.42: known fields only, sanitised (see the module doc).
    Returns new objects; the rendered body is never changed in place."""
    if not isinstance(spec_groups, list):
        return spec_groups
    groups: list[Any] = []
    for group in spec_groups:
        if not isinstance(group, dict):
            groups.append(group)
            continue
        out = {k: group[k] for k in _GROUP_FIELDS if k in group}
        if out.get("interval") in ("", None):
            out.pop("interval", None)
        if isinstance(out.get("rules"), list):
            rules = []
            for rule in out["rules"]:
                if isinstance(rule, dict):
                    kept = {k: rule[k] for k in _RULE_FIELDS if k in rule}
                    if kept.get("for") in ("", None):
                        kept.pop("for", None)
                    rules.append(kept)
                else:
                    rules.append(rule)
            out["rules"] = rules
        groups.append(out)
    return groups


@dataclass
class RuleFile:
    """One PrometheusRule as a promtool rule file: its text, and the path
    (inside ``groups``) that starts on each line, for mapping messages back."""

    groups: Any
    text: str = ""
    _lines: dict[int, JsonPath] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # libyaml's emitter (the same text as PyYAML's pure-Python one, at a
        # fraction of the time: 200 models' rule files took 1.3 s).
        self.text = yaml.dump({"groups": self.groups}, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True,
                              width=4096)

    @property
    def lines(self) -> dict[int, JsonPath]:
        """Line -> path, composed only when promtool has something to say."""
        if self._lines is None:
            self._lines = _line_paths(self.text)
        return self._lines


def _line_paths(text: str) -> dict[int, JsonPath]:
    """Line (1-based) -> the deepest path whose key or value starts there."""
    lines: dict[int, JsonPath] = {}

    def note(node: yaml.Node, path: JsonPath) -> None:
        line = node.start_mark.line + 1
        if len(path) >= len(lines.get(line, ())):
            lines[line] = path

    root = yaml.compose(text, Loader=yaml.CSafeLoader)
    stack: list[tuple[yaml.Node, JsonPath]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        note(node, path)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                note(key, child)
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, i)))
    return lines


@dataclass(frozen=True)
class RuleError:
    """One promtool message about one rule file, with the place it is about
    as a path inside the PrometheusRule's ``spec``."""

    path: JsonPath
    message: str


def _unquote(text: str) -> str:
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


_AT = re.compile(r"(\d+):(\d+): (?:(\d+):(\d+): )?(.*)", re.DOTALL)
_RULE = re.compile(r'group "((?:[^"\\]|\\.)*)", rule (\d+), "((?:[^"\\]|\\.)*)": (.*)', re.DOTALL)
_YAML_LINE = re.compile(r"line (\d+): (.*)")


def _scalars(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
    stack: list[tuple[Any, JsonPath]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            stack.extend((v, (*where, str(k))) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(current))
        else:
            yield where, current


def _rule_path(groups: Any, group: str, rule: int, rest: str) -> JsonPath:
    """Where `group "g", rule N, "name": rest` points: the rule's field the
    message names (an annotation, a label, the expression) or the rule."""
    if isinstance(groups, list):
        for g_index, item in enumerate(groups):
            if isinstance(item, dict) and item.get("name") == group:
                base: JsonPath = ("groups", g_index, "rules", rule - 1)
                for pattern, key in ((r'annotation "((?:[^"\\]|\\.)*)"', "annotations"),
                                     (r"invalid annotation name: (\S+)", "annotations"),
                                     (r'label "((?:[^"\\]|\\.)*)"', "labels"), (r"invalid label name: (\S+)", "labels")):
                    found = re.search(pattern, rest)
                    if found:
                        return (*base, key, _unquote(found.group(1)))
                if "expression" in rest or "parse error" in rest:
                    return (*base, "expr")
                return base
    return ("groups",)


def _locate(rule_file: RuleFile, text: str) -> list[RuleError]:
    """Turn one promtool message into errors at paths in the rule file."""
    at = _AT.match(text)
    if at:
        path = _nearest(rule_file, int(at.group(1)))
        return [RuleError(path, at.group(5).strip())]
    rule = _RULE.match(text)
    if rule:
        group, number, name, rest = _unquote(rule.group(1)), int(rule.group(2)), rule.group(3), rule.group(4)
        return [RuleError(_rule_path(rule_file.groups, group, number, rest), text.strip())]
    lines = _YAML_LINE.findall(text)
    if lines:
        return [RuleError(_nearest(rule_file, int(line)), message.strip()) for line, message in lines]
    for quoted in re.findall(r'"((?:[^"\\]|\\.)*)"', text):
        value = _unquote(quoted)
        for path, scalar in _scalars(rule_file.groups, ("groups",)):
            if str(scalar) == value:
                return [RuleError(path, text.strip())]
    return [RuleError(("groups",), text.strip())]


def _nearest(rule_file: RuleFile, line: int) -> JsonPath:
    """The path starting on ``line``, or on the closest line above it."""
    for candidate in range(line, 0, -1):
        if candidate in rule_file.lines:
            return rule_file.lines[candidate] or ("groups",)
    return ("groups",)


def spec_path(path: JsonPath) -> JsonPath:
    """A path in a rule file (under ``groups``) as a path in the PrometheusRule."""
    return ("spec", *path) if path else ("spec",)


# --- promtool check rules --------------------------------------------------

def check_rules(files: Sequence[RuleFile]) -> list[list[RuleError]]:
    """Run one `promtool check rules` over every file; per file, what promtool refused."""
    results: list[list[RuleError]] = [[] for _ in files]
    if not files:
        return results
    tool = find_promtool()
    with tempfile.TemporaryDirectory(prefix="shipyard-rules-") as tmp:
        paths = []
        for index, rule_file in enumerate(files):
            path = Path(tmp) / f"rules-{index}.yaml"
            path.write_text(rule_file.text, encoding="utf-8")
            paths.append(str(path))
        proc = _run(tool, ["check", "rules", "--lint=none", *paths])
        by_path = {path: index for index, path in enumerate(paths)}
        if proc.returncode not in (0, 1):
            raise ShipyardError(f"promtool check rules failed with exit code {proc.returncode}: "
                                f"{_tail(proc.stderr or proc.stdout)}", hint=SETUP_HINT, check=TOOL_MISSING)
        current: int | None = None
        messages: list[tuple[int, list[str]]] = []
        for line in proc.stderr.splitlines():
            head = next((p for p in paths if line.startswith(p + ": ")), None)
            if head is not None:
                current = by_path[head]
                messages.append((current, [line[len(head) + 2:]]))
            elif line.strip() == "FAILED:":
                continue
            elif messages and line.strip():
                messages[-1][1].append(line)
        for index, lines in messages:
            results[index].extend(_locate(files[index], "\n".join(lines)))
        if proc.returncode == 1 and not any(results):
            raise ShipyardError(f"promtool check rules refused the rules but said nothing this toolkit can place: "
                                f"{_tail(proc.stderr or proc.stdout)}", check=TOOL_MISSING)
    return results


def _run(tool: Promtool, args: list[str]) -> subprocess.CompletedProcess[str]:
    limit = tool_timeout(CHECK_TIMEOUT)
    try:
        return run_process([tool.path, *args], timeout=limit)
    except OSError as exc:
        raise ToolMissing(f"cannot run {tool.path}: {exc.strerror or exc}", hint=SETUP_HINT, check=TOOL_MISSING) from None
    except subprocess.TimeoutExpired:
        raise ShipyardError(f"promtool {args[0]} {args[1]} gave no answer within {limit:g}s; it was stopped",
                            hint="raise SHIPYARD_TOOL_TIMEOUT (seconds) on a slow machine", check=TOOL_MISSING) from None


def _tail(text: str) -> str:
    text = text.strip() or "no output"
    return text if len(text) <= 2000 else text[-2000:]


# --- promtool test rules ---------------------------------------------------

def prometheus_rules(path: Path) -> list[Any]:
    """The ``spec.groups`` of every PrometheusRule in a manifest file, read
    by the toolkit's bounded loader (malformed YAML is SY910, not a traceback)."""
    documents = load_documents(read_text(path, str(path)), str(path))
    found = [as_dict(body.get("spec")).get("groups", []) for body, _line in documents
             if isinstance(body, dict) and body.get("kind") == "PrometheusRule"]
    if not found:
        raise ShipyardError(f"{path}: no PrometheusRule in it", check=USAGE,
                            hint="rule_files of an alert test name the PrometheusRule manifests it tests")
    return found


def run_alert_test(test_file: Path) -> subprocess.CompletedProcess[str]:
    """Run `promtool test rules` on an alert test whose ``rule_files`` name
    PrometheusRule manifests (relative to the test file, as promtool reads
    them): each is handed to promtool as the rule file the operator would
    write for it."""
    documents = load_documents(read_text(test_file, str(test_file)), str(test_file))
    test = documents[0][0] if len(documents) == 1 else None
    if not isinstance(test, dict) or not isinstance(test.get("rule_files"), list):
        raise ShipyardError(f"{test_file}: an alert test is one YAML document with rule_files: a list of "
                            "PrometheusRule manifests", check=USAGE)
    tool = find_promtool()
    with tempfile.TemporaryDirectory(prefix="shipyard-alert-test-") as tmp:
        written = []
        for index, name in enumerate(test["rule_files"]):
            source = (test_file.parent / str(name)).resolve()
            for j, groups in enumerate(prometheus_rules(source)):
                target = Path(tmp) / f"rules-{index}-{j}.yaml"
                target.write_text(RuleFile(rule_groups(groups)).text, encoding="utf-8")
                written.append(target.name)
        copy = dict(test, rule_files=written)
        target = Path(tmp) / test_file.name
        target.write_text(yaml.safe_dump(copy, sort_keys=False, allow_unicode=True, width=4096), encoding="utf-8")
        limit = tool_timeout(CHECK_TIMEOUT)
        try:
            return run_process([tool.path, "test", "rules", target.name], timeout=limit, cwd=tmp)
        except OSError as exc:
            raise ToolMissing(f"cannot run {tool.path}: {exc.strerror or exc}", hint=SETUP_HINT,
                              check=TOOL_MISSING) from None
        except subprocess.TimeoutExpired:
            raise ShipyardError(f"promtool test rules gave no answer within {limit:g}s; it was stopped",
                                hint="raise SHIPYARD_TOOL_TIMEOUT (seconds) on a slow machine",
                                check=TOOL_MISSING) from None


def main(argv: list[str] | None = None) -> int:
    """`python -m shipyard.monitoring.promtool test FILE...`: run alert tests
    (models/<m>/monitoring/tests/*.yaml) as the test suite does."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] != "test":
        print("usage: python -m shipyard.monitoring.promtool test ALERT_TEST.yaml...", file=sys.stderr)
        return 2
    code = 0
    for name in args[1:]:
        try:
            proc = run_alert_test(Path(name))
        except ShipyardError as exc:
            print(f"error [{exc.check}]: {exc}", file=sys.stderr)
            return 2
        print(f"== {name}")
        sys.stdout.write(proc.stdout)
        sys.stdout.write(proc.stderr)
        code = code or (1 if proc.returncode else 0)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
