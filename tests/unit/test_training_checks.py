"""The Training Operator's and Katib's admission rules (SY220-SY238): each
id's failing case under tests/fixtures/checks/training/<ID>/ reports exactly
its marked lines, its passing case nothing (the markers are read as in
test_check_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import shipyard_check_cases as cases  # registered by tests/conftest.py
from shipyard.checks import load_all

TRAINING = cases.FIXTURES / "training"
CHECKS = sorted(p.name for p in TRAINING.iterdir() if p.is_dir() and p.name.startswith("SY"))


def test_every_training_and_katib_id_has_fixtures() -> None:
    ids = {cid for cid in load_all() if "SY220" <= cid <= "SY239"}
    assert ids and ids == set(CHECKS)


@pytest.mark.parametrize("check_id", CHECKS)
def test_failing_fixture_reports_each_marked_line(check_id: str) -> None:
    case = TRAINING / check_id / "fail"
    want = cases.expected(case, check_id)
    assert want, f"{case} marks no expected finding"
    assert cases.observed(cases.run(check_id, cases.load_case(case)), check_id) == want


@pytest.mark.parametrize("check_id", CHECKS)
def test_passing_fixture_reports_nothing(check_id: str) -> None:
    case = TRAINING / check_id / "pass"
    findings = [f for f in cases.run(check_id, cases.load_case(case)) if f.check == check_id]
    assert findings == []


@pytest.mark.parametrize("check_id", CHECKS)
def test_every_fixture_passes_the_other_admission_rules(check_id: str) -> None:
    """A case shows one defect: no other SY22x/SY23x id fires on it."""
    for variant in ("fail", "pass"):
        ctx = cases.load_case(TRAINING / check_id / variant)
        others = [f for other in CHECKS if other != check_id for f in cases.run(other, ctx) if f.check == other]
        assert others == [], f"{variant}: {[(f.check, f.line, f.message) for f in others]}"


def test_a_finding_says_who_refuses_and_where(tmp_path: Path) -> None:
    ctx = cases.load_case(TRAINING / "SY236" / "fail")
    messages = [f.message for f in cases.run("SY236", ctx)]
    assert any(m.startswith("Katib's admission webhook refuses this: the trial template uses "
                            "${trialParameters.momentum}") for m in messages), messages


# --- malformed input: a wrong shape anywhere is the schema's to report ------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from shipyard.checks.context import CheckContext  # noqa: E402
from shipyard.objects import K8sObject, Source  # noqa: E402
from shipyard.render.target import RenderedTarget  # noqa: E402

_BODIES = [o.body for case in sorted(TRAINING.glob("SY*/*")) for o in cases.load_case(case).targets[0].objects]
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=4), st.just("${trialParameters.x}"))
_values = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                       max_leaves=10)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    if isinstance(value, list):
        return [_replace(item, rest, new) if i == head else item for i, item in enumerate(value)]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_checks_survive_a_field_of_the_wrong_shape(data: st.DataObject) -> None:
    body: object = data.draw(st.sampled_from(_BODIES))
    for _ in range(data.draw(st.integers(1, 3))):
        body = _replace(body, data.draw(st.sampled_from(_paths(body)[1:] or [()])), data.draw(_values))
    obj = K8sObject(body if isinstance(body, dict) else {"kind": "Broken"}, Source("x.yaml", 1))
    ctx = CheckContext([RenderedTarget("overlays/dev", "overlay", [obj], "1.33.0")])
    for check_id in [*CHECKS, "SY301", "SY302", "SY303", "SY309"]:  # and the pod walk the policies share
        for finding in cases.run(check_id, ctx):
            assert finding.check == check_id and finding.message
