"""SY317's promtool: pinned like helm, found or reported as SY901 with what
to do, run once per validate, and its messages mapped back to the
PrometheusRule's own file and line."""

from __future__ import annotations

import ast
import stat
import time
from pathlib import Path
from typing import Iterator

import pytest

import shipyard.monitoring.promtool as promtool_module
import shipyard_check_cases as cases  # registered by tests/conftest.py
from shipyard.checks.policy_monitoring import promtool_check_rules
from shipyard.errors import ToolMissing
from shipyard.monitoring.promtool import (
    DEBIAN_PACKAGE,
    DEBIAN_VERSION,
    ENV,
    PROMTOOL_VERSION,
    Promtool,
    RuleFile,
    check_rules,
    find_promtool,
    rule_groups,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = cases.FIXTURES


@pytest.fixture
def fresh_lookup() -> Iterator[None]:
    """find_promtool is cached per process: each test that changes the
    environment looks again, and leaves no stale answer behind."""
    find_promtool.cache_clear()
    yield
    find_promtool.cache_clear()


def _install_constants() -> dict[str, str]:
    tree = ast.parse((ROOT / "tools" / "install.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def test_install_py_installs_the_pin_validate_asks_for() -> None:
    constants = _install_constants()
    assert constants["PROMTOOL_PACKAGE"] == DEBIAN_PACKAGE
    assert constants["PROMTOOL_DEB_VERSION"] == DEBIAN_VERSION
    assert constants["PROMTOOL_VERSION"] == PROMTOOL_VERSION
    assert DEBIAN_VERSION.startswith(PROMTOOL_VERSION + ".")


def test_the_found_promtool_is_the_pinned_version(promtool: Promtool) -> None:
    assert promtool.version.startswith(PROMTOOL_VERSION + ".")


def test_a_missing_promtool_is_sy901_with_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       fresh_lookup: None) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "no-such-promtool"))
    with pytest.raises(ToolMissing) as err:
        list(promtool_check_rules(cases.load_case(FIXTURES / "SY317" / "pass")))
    assert err.value.check == "SY901"
    assert "no-such-promtool (not found)" in err.value.message
    assert ENV in (err.value.hint or "")


def test_a_promtool_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   fresh_lookup: None) -> None:
    fake = tmp_path / "promtool"
    fake.write_text("#!/bin/sh\necho 'promtool, version 2.53.0 (branch: HEAD)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(ENV, str(fake))
    with pytest.raises(ToolMissing) as err:
        find_promtool()
    assert "version 2.53.0" in err.value.message and err.value.check == "SY901"


def test_without_prometheus_rules_promtool_is_not_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         fresh_lookup: None) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "no-such-promtool"))
    assert list(promtool_check_rules(cases.load_case(FIXTURES / "SY305" / "pass"))) == []


def test_one_promtool_process_checks_every_prometheus_rule(monkeypatch: pytest.MonkeyPatch, promtool: Promtool) -> None:
    calls: list[list[str]] = []
    real = promtool_module.run_process

    def counted(cmd: list[str], **kwargs: object) -> object:
        calls.append(cmd)
        return real(cmd, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(promtool_module, "run_process", counted)
    ctx = cases.load_case(FIXTURES / "SY317" / "fail")
    findings = list(promtool_check_rules(ctx))
    checks = [c for c in calls if c[1:3] == ["check", "rules"]]
    assert len(checks) == 1 and len(checks[0]) == 3 + 1 + 3  # promtool check rules --lint=none + 3 files
    assert {f.object.name for f in findings if f.object} == {"broken", "slow", "twice"}


def test_a_base_rendered_into_many_targets_is_checked_once(monkeypatch: pytest.MonkeyPatch, promtool: Promtool) -> None:
    ctx = cases.load_case(FIXTURES / "SY317" / "fail")
    twice = cases.load_case(FIXTURES / "SY317" / "fail")
    ctx.targets.append(twice.targets[0])
    seen: list[int] = []
    real = promtool_module.check_rules

    def counted(files: list[RuleFile]) -> object:
        seen.append(len(files))
        return real(files)

    monkeypatch.setattr("shipyard.checks.policy_monitoring.check_rules", counted)
    list(promtool_check_rules(ctx))
    assert seen == [3]


def test_what_promtool_reads_is_what_the_operator_hands_prometheus() -> None:
    spec = [{"name": "g", "partial_response_strategy": "warn", "query_offset": "1m", "labels": {"a": "b"},
             "interval": "", "limit": 10, "rules": [{"alert": "A", "expr": "up == 0", "for": "",
                                                      "keep_firing_for": "5m", "unknownField": 1}]}]
    before = repr(spec)
    assert rule_groups(spec) == [{"name": "g", "limit": 10, "rules": [{"alert": "A", "expr": "up == 0",
                                                                        "keep_firing_for": "5m"}]}]
    assert repr(spec) == before  # the rendered body is never changed in place


def test_messages_without_a_line_still_find_their_field(promtool: Promtool) -> None:
    groups = [{"name": "g", "rules": [
        {"alert": "A", "expr": "up == 0", "annotations": {"ok": "fine", "summary": "{{ $nope }}"}},
        {"alert": "B", "expr": "up == 0", "labels": {"bad-label": "x"}},
    ]}]
    [errors] = check_rules([RuleFile(groups)])
    assert {e.path for e in errors} == {("groups", 0, "rules", 0, "annotations", "summary"),
                                        ("groups", 0, "rules", 1, "labels", "bad-label")}


def test_promtool_time_per_validate_of_this_repository(promtool: Promtool, mirror_dir: Path) -> None:
    """Every PrometheusRule of the repository in one promtool run, well
    under a second (the number docs/monitoring.md quotes)."""
    from shipyard.repo import Repository
    from shipyard.validate import validate

    report = validate(Repository.load(ROOT), jobs=2, only={"SY317"})
    assert [f for f in report.findings if f.check == "SY317"] == []
    rules = {(o.source.path, o.name) for t in report.targets for o in t.objects if o.kind == "PrometheusRule"}
    assert rules
    from shipyard.checks.policy_monitoring import unique_rules

    files = [RuleFile(rule_groups(o.body["spec"]["groups"])) for o in unique_rules(
        o for t in report.targets for o in t.objects)]
    started = time.perf_counter()
    check_rules(files)
    assert time.perf_counter() - started < 10.0  # generous: a loaded 2-core machine; typically ~0.05 s
