"""Every check with a fixture pair under tests/fixtures/checks/<ID>/: the
failing case reports exactly the marked lines (`# expect: SYnnn Kind/ns/name`),
the passing case reports nothing. Adding a check's fixtures is all it takes
to have them run here."""

from __future__ import annotations


import pytest


import shipyard_check_cases as cases  # registered by tests/conftest.py
CHECKS = sorted(p.name for p in cases.FIXTURES.iterdir() if p.is_dir() and p.name.startswith("SY"))


def test_every_fixture_folder_is_a_runnable_check() -> None:
    assert CHECKS
    assert set(CHECKS) <= set(cases.runnable("SY"))


@pytest.mark.parametrize("check_id", CHECKS)
def test_failing_fixture_reports_each_marked_line(check_id: str) -> None:
    case = cases.FIXTURES / check_id / "fail"
    want = cases.expected(case, check_id)
    assert want, f"{case} marks no expected finding"
    got = cases.observed(cases.run(check_id, cases.load_case(case)), check_id)
    assert got == want


@pytest.mark.parametrize("check_id", CHECKS)
def test_passing_fixture_reports_nothing(check_id: str) -> None:
    case = cases.FIXTURES / check_id / "pass"
    findings = [f for f in cases.run(check_id, cases.load_case(case)) if f.check == check_id]
    assert findings == []
