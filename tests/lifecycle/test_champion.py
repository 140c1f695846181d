"""Champion / challenger: a promotion compares the candidate with the
version the environment runs now, per metric of model.yaml's spec.compare
(direction and tolerance), and refuses a regression before anything is
written unless it is accepted with a reason. Metrics are compared only when
both versions were measured on the same evaluation data, which `register`
records.

The fixture's iris compares accuracy (tolerance 0.005) and f1_macro
(tolerance 1%) in production; its versions were all measured on iris-test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest
import yaml

from shipyard.models import rules
from shipyard.models.spec import Version, load_model
from shipyard.repo import Repository

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

IRIS_TEST = "sha256:8f8783e2120fa58ea474836fb9cd439062333dae14c848ad35aa9729abf6c8fe"  # the fixture's evaluation data
OTHER_TEST = "sha256:" + "ab" * 32
MODEL = "models/iris/model.yaml"
ENVS = ("dev", "staging", "production")


def register(lc: LifecycleRepo, tmp_path: Path, version: str, metrics: dict[str, float], *,
             dataset: str | None = "iris-test", digest: str | None = IRIS_TEST) -> None:
    """Register ``version`` and commit it, as a merged registration pull request would."""
    path = tmp_path / f"metrics-{version}.json"
    path.write_text(json.dumps(metrics))
    args = ["register", "iris", "--version", version, "--uri", f"gs://models-example/iris/{version}",
            "--metrics", str(path), "--created", "2026-11-20T10:00:00Z", "--commit", "--no-branch"]
    if dataset is not None and digest is not None:
        args += ["--dataset", dataset, "--dataset-digest", digest]
    run = lc.shipyard(*args)
    assert run.code == 0, run.err


def promote(lc: LifecycleRepo, *args: str) -> None:
    run = lc.shipyard("promote", "iris", *args, "--no-branch")
    assert run.code == 0, run.err


def production_runs_1_1_0(lc: LifecycleRepo) -> None:
    """dev, staging and production all run 1.1.0 (accuracy 0.97, f1_macro 0.96)."""
    for env in ENVS:
        promote(lc, "--to", env, "--version", "1.1.0")


def to_staging(lc: LifecycleRepo, version: str) -> None:
    """``version`` through dev and staging, where the fixture compares nothing."""
    promote(lc, "--to", "dev", "--version", version)
    promote(lc, "--to", "staging")


@pytest.fixture
def unchanged(lc: LifecycleRepo) -> Callable[[], Callable[[], None]]:
    """Take a snapshot; the function it returns asserts that nothing changed
    since: no file, no branch, no commit."""

    def snapshot() -> Callable[[], None]:
        before = (lc.head, lc.branch, lc.branches(), lc.dirty(), [lc.pin(e) for e in ENVS], lc.read(MODEL))

        def check() -> None:
            assert (lc.head, lc.branch, lc.branches(), lc.dirty(), [lc.pin(e) for e in ENVS], lc.read(MODEL)) == before

        return check

    return snapshot


def test_the_fixture_flow_compares_in_production(lc: LifecycleRepo, tmp_path: Path) -> None:
    """dev -> staging -> production of 1.1.0: production compares it with
    1.0.0 (both on iris-test) and finds it better; dev compares nothing."""
    promote(lc, "--to", "dev", "--version", "1.1.0")
    promote(lc, "--to", "staging")
    body = tmp_path / "body.md"
    run = lc.shipyard("promote", "iris", "--to", "production", "--pr-body", str(body))
    assert run.code == 0, run.err
    text = body.read_text()
    assert "## Compared with 1.0.0, which production runs now" in text
    assert "| accuracy | 0.95 | 0.97 | +0.02 | higher is better, tolerance 0.005 | better |" in text
    assert "| f1_macro | 0.94 | 0.96 | +0.02 | higher is better, tolerance 1% = 0.0094 | better |" in text
    assert f"- Evaluation data: the same for both, iris-test (`{IRIS_TEST}`)" in text
    assert "warning" not in run.err
    back = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.0.0", "--no-commit")
    assert back.code == 0, back.err
    assert "- spec.compare in models/iris/model.yaml compares no metric in dev" in back.out


def test_a_worse_candidate_is_refused_with_its_figures_and_nothing_written(lc: LifecycleRepo, tmp_path: Path,
                                                                            unchanged) -> None:
    """The incident: 0.935 over 0.98 passed every gate. Now production
    refuses it, naming both figures, the direction and the tolerance;
    --force (promotion order, Istio) does not skip it."""
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.935, "f1_macro": 0.955})
    to_staging(lc, "1.3.0")  # dev and staging do not compare in the fixture
    check = unchanged()
    for extra in ([], ["--force", "--reason", "hotfix"]):
        run = lc.shipyard("promote", "iris", "--to", "production", *extra)
        assert run.code == 2, run.out
        assert ("error [SY513]: models/iris/model.yaml:" in run.err
                and "iris 1.3.0 is worse than 1.1.0, which production runs now: "
                    "accuracy 0.97 → 0.935 (higher is better: 0.035 worse, tolerance 0.005)" in run.err), run.err
        assert "f1_macro" not in run.err.splitlines()[0]  # 0.005 worse: within its 1% (0.0096)
        assert "--accept-regression --reason TEXT" in run.err
        assert "Traceback" not in run.err
    check()


def test_worse_within_the_tolerance_is_promoted_and_flagged(lc: LifecycleRepo, tmp_path: Path) -> None:
    """0.005 worse against an absolute tolerance of 0.005, and 1% worse
    against 1%: exactly at the tolerance is within it (whatever binary
    floats make of 0.97 - 0.965), promoted, and flagged with both values."""
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.965, "f1_macro": 0.9504})
    to_staging(lc, "1.3.0")
    body = tmp_path / "body.md"
    run = lc.shipyard("promote", "iris", "--to", "production", "--pr-body", str(body))
    assert run.code == 0, run.err
    assert lc.predictors("production")[0][1] == "gs://models-example/iris/1.3.0"
    text = body.read_text()
    assert ("| accuracy | 0.97 | 0.965 | -0.005 | higher is better, tolerance 0.005 | **worse**, within the tolerance |"
            in text)
    assert ("| f1_macro | 0.96 | 0.9504 | -0.0096 | higher is better, tolerance 1% = 0.0096 | "
            "**worse**, within the tolerance |" in text)
    assert "## Regression accepted" not in text
    assert ("warning: accuracy 0.97 → 0.965 (higher is better: 0.005 worse, tolerance 0.005): worse than 1.1.0, "
            "which production runs now, within the tolerance") in run.err
    assert "warning: f1_macro 0.96 → 0.9504" in run.err


def test_accept_regression_needs_a_reason(lc: LifecycleRepo, tmp_path: Path, unchanged) -> None:
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.935, "f1_macro": 0.955})
    to_staging(lc, "1.3.0")
    check = unchanged()
    for reason in ([], ["--reason", "  "]):
        run = lc.shipyard("promote", "iris", "--to", "production", "--accept-regression", *reason)
        assert run.code == 2, run.out
        assert "--accept-regression needs --reason: a written reason why a version worse than the one running" in run.err
    run = lc.shipyard("promote", "iris", "--to", "production", "--reason", "why")
    assert run.code == 2 and "--reason goes with --force or --accept-regression" in run.err
    check()


def test_an_accepted_regression_carries_its_reason_into_the_commit_and_the_pull_request(
        lc: LifecycleRepo, tmp_path: Path) -> None:
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.935, "f1_macro": 0.955})
    to_staging(lc, "1.3.0")
    body = tmp_path / "body.md"
    reason = "1.3.0 stops confusing versicolor with virginica; the old split overstates 1.1.0"
    run = lc.shipyard("promote", "iris", "--to", "production", "--accept-regression", "--reason", reason,
                      "--pr-body", str(body))
    assert run.code == 0, run.err
    assert lc.branch == "promote/iris-production-1.3.0"
    figures = "accuracy 0.97 → 0.935 (higher is better: 0.035 worse, tolerance 0.005)"
    message = lc.git("log", "-1", "--format=%B")
    assert message.startswith("Promote iris 1.3.0 to production\n\n")
    assert f"- accepted: iris 1.3.0 is worse than 1.1.0, which production runs now: {figures}\n" in message
    assert f"- reason: {reason}\n" in message
    text = body.read_text()
    assert f"## Regression accepted\n\n- accepted: iris 1.3.0 is worse than 1.1.0, which production runs now: " \
           f"{figures}\n- reason: {reason}" in text
    assert ("| accuracy | 0.97 | 0.935 | -0.035 | higher is better, tolerance 0.005 | "
            "**worse, beyond the tolerance** (accepted) |") in text
    assert "| f1_macro | 0.96 | 0.955 | -0.005 | higher is better, tolerance 1% = 0.0096 | **worse**, within the tolerance |" \
        in text
    assert f"warning: regression accepted (--accept-regression): iris 1.3.0 is worse than 1.1.0" in run.err


def _compare_latency(lc: LifecycleRepo) -> None:
    """iris compares latency_p95_ms, lower is better, in every environment."""
    text = lc.read(MODEL)
    start, end = text.index("  compare:"), text.index("  versions:")
    lc.write(MODEL, text[:start] + "  compare:\n    latency_p95_ms: {better: lower, tolerance: 5}\n" + text[end:])
    lc.commit_all("compare latency")


def test_a_lower_is_better_metric(lc: LifecycleRepo, tmp_path: Path, unchanged) -> None:
    _compare_latency(lc)
    for version, latency in (("1.3.0", 40), ("1.4.0", 48), ("1.5.0", 44), ("1.6.0", 31)):
        register(lc, tmp_path, version, {"accuracy": 0.97, "f1_macro": 0.96, "latency_p95_ms": latency})
    promote(lc, "--to", "dev", "--version", "1.3.0", "--accept-regression", "--reason", "first version measuring latency")
    check = unchanged()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.4.0")
    assert run.code == 2, run.out
    assert ("iris 1.4.0 is worse than 1.3.0, which dev runs now: latency_p95_ms 40 → 48 "
            "(lower is better: 8 worse, tolerance 5)") in run.err
    check()
    within = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.5.0", "--no-branch")
    assert within.code == 0, within.err
    assert "| latency_p95_ms | 40 | 44 | +4 | lower is better, tolerance 5 | **worse**, within the tolerance |" in within.out
    better = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.6.0", "--no-branch")
    assert better.code == 0, better.err
    assert "| latency_p95_ms | 44 | 31 | -13 | lower is better, tolerance 5 | better |" in better.out
    assert "warning" not in better.err


def test_a_compared_metric_a_version_does_not_report_is_refused(lc: LifecycleRepo, tmp_path: Path, unchanged) -> None:
    """dev runs 1.0.0, registered before anyone measured latency: the
    comparison cannot be made, and says which version lacks what."""
    _compare_latency(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.97, "f1_macro": 0.96, "latency_p95_ms": 40})
    check = unchanged()
    run = lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.3.0")
    assert run.code == 2, run.out
    assert ("error [SY513]: models/iris/model.yaml:" in run.err and "iris 1.3.0 cannot be compared with 1.0.0, which "
            "dev runs now: latency_p95_ms is not reported by 1.0.0 (running now) (spec.compare compares it)" in run.err)
    check()


def test_different_evaluation_data_is_noted_and_not_judged(lc: LifecycleRepo, tmp_path: Path) -> None:
    """Figures measured on different data do not say which version is
    better: the promotion says so (output and pull request) and refuses
    nothing on them; the gates still apply."""
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.935, "f1_macro": 0.955}, dataset="iris-test-v2", digest=OTHER_TEST)
    to_staging(lc, "1.3.0")
    body = tmp_path / "body.md"
    run = lc.shipyard("promote", "iris", "--to", "production", "--pr-body", str(body))
    assert run.code == 0, run.err
    assert ("warning: iris 1.3.0 and 1.1.0 were measured on different evaluation data (1.1.0: iris-test "
            "(sha256:8f8783e2120f…); 1.3.0: iris-test-v2 (sha256:abababababab…)): their metrics cannot say which is "
            "better, so none was refused") in run.err
    text = body.read_text()
    assert ("- **Evaluation data differs**: 1.1.0 was measured on iris-test (sha256:8f8783e2120f…), 1.3.0 on "
            "iris-test-v2 (sha256:abababababab…).") in text
    assert "| accuracy | 0.97 | 0.935 | -0.035 | higher is better, tolerance 0.005 | " \
           "**worse, beyond the tolerance** (not judged: different evaluation data) |" in text


def test_a_canary_start_is_compared_and_its_traffic_change_is_not_asked_again(lc: LifecycleRepo, tmp_path: Path,
                                                                               unchanged) -> None:
    production_runs_1_1_0(lc)
    register(lc, tmp_path, "1.3.0", {"accuracy": 0.935, "f1_macro": 0.955})
    to_staging(lc, "1.3.0")
    check = unchanged()
    run = lc.shipyard("promote", "iris", "--to", "production", "--canary", "10")
    assert run.code == 2, run.out
    assert "error [SY513]" in run.err and "accuracy 0.97 → 0.935" in run.err
    check()
    promote(lc, "--to", "production", "--canary", "10", "--accept-regression", "--reason", "watch it on 10% first")
    assert lc.git("log", "-1", "--format=%B").count("- reason: watch it on 10% first") == 1
    adjust = lc.shipyard("promote", "iris", "--to", "production", "--version", "1.3.0", "--canary", "50",
                         "--no-branch")
    assert adjust.code == 0, adjust.err
    assert "**worse, beyond the tolerance** |" in adjust.out  # still shown to the reviewer, not refused
    assert [p[2] for p in lc.predictors("production")] == [50, 50]


def test_a_model_without_compare_compares_nothing_and_says_so(lc: LifecycleRepo) -> None:
    text = lc.read(MODEL)
    lc.write(MODEL, text[:text.index("  compare:")] + text[text.index("  versions:"):])
    lc.commit_all("no compare")
    run = lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--force", "--reason", "test")
    assert run.code == 0, run.err
    assert "- models/iris/model.yaml declares no spec.compare: no metric is compared (docs/models.md)" in run.out


def test_register_records_the_evaluation_data(lc: LifecycleRepo, tmp_path: Path) -> None:
    before = lc.read(MODEL)
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.98, "f1_macro": 0.975}')
    args = ["register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0", "--metrics",
            str(metrics), "--created", "2026-11-20T10:00:00Z"]
    run = lc.shipyard(*args, "--dataset", "iris-test", "--dataset-digest", IRIS_TEST.upper().replace("SHA256", "sha256"))
    assert run.code == 0, run.err
    assert lc.read(MODEL)[len(before):] == (
        "  - version: 1.3.0\n"
        "    modelUri: gs://models-example/iris/1.3.0\n"
        "    metrics: {accuracy: 0.98, f1_macro: 0.975}\n"
        f"    evaluation: {{dataset: iris-test, digest: '{IRIS_TEST}'}}\n"
        "    created: '2026-11-20T10:00:00Z'\n"
    )
    assert yaml.safe_load(lc.read(MODEL))["spec"]["versions"][-1]["evaluation"] == {"dataset": "iris-test",
                                                                                  "digest": IRIS_TEST}
    assert f"- evaluated on: iris-test (`{IRIS_TEST}`)" in run.out
    assert lc.shipyard(*args, "--dataset", "iris-test", "--dataset-digest", IRIS_TEST).code == 0  # the same facts
    other = lc.shipyard(*args, "--dataset", "iris-test", "--dataset-digest", OTHER_TEST)
    assert other.code == 2 and "already registered with different facts" in other.err
    lc.write(MODEL, before)
    for extra, message in (
            (["--dataset", "iris-test"], "--dataset needs --dataset-digest"),
            (["--dataset-digest", IRIS_TEST], "--dataset-digest needs --dataset"),
            (["--dataset", "iris-test", "--dataset-digest", "abc"],
             "--dataset-digest: digest is sha256: followed by 64 lowercase hex digits"),
            (["--dataset", "iris test", "--dataset-digest", IRIS_TEST], "--dataset: dataset is a name of 1-253")):
        run = lc.shipyard(*args, *extra)
        assert run.code == 2 and message in run.err, (extra, run.err)
    assert lc.read(MODEL) == before


def test_register_warns_what_will_stop_a_comparison(lc: LifecycleRepo, tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"accuracy": 0.98}')
    run = lc.shipyard("register", "iris", "--version", "1.3.0", "--uri", "gs://models-example/iris/1.3.0",
                      "--metrics", str(metrics))
    assert run.code == 0, run.err
    assert ("warning: 1.3.0 does not report f1_macro, which spec.compare in models/iris/model.yaml compares: "
            "promoting it over a version will need --accept-regression --reason") in run.err
    assert "warning: 1.3.0 records no evaluation data (--dataset, --dataset-digest)" in run.err
    assert "- 1.3.0 does not report f1_macro" in run.out  # in the pull request too


# --------------------------------------------------------------------------
# The rule itself: a pure function of two versions, for `validate` as well


def test_the_rule_is_a_pure_function(lc: LifecycleRepo) -> None:
    model = load_model(Repository.load(lc.root), "iris")
    current, better, worse = model.get("1.1.0"), model.get("1.0.0"), model.get("1.2.0")
    assert rules.regression(model, current, better, "production") is None  # 1.1.0 replacing 1.0.0
    assert rules.regression(model, worse, current, "dev") is None  # dev compares nothing here
    problem = rules.regression(model, worse, current, "production", at=("overlays/production/models/iris/x.yaml", 7))
    assert problem is not None and (problem.id, problem.file, problem.line) == (
        "SY513", "overlays/production/models/iris/x.yaml", 7)
    assert problem.message == ("iris 1.2.0 is worse than 1.1.0, which production runs now: accuracy 0.97 → 0.91 "
                               "(higher is better: 0.06 worse, tolerance 0.005); f1_macro 0.96 → 0.9 (higher is "
                               "better: 0.06 worse, tolerance 1% = 0.0096)")
    unrecorded = Version("9.0.0", "gs://x/9", {"accuracy": 0.9, "f1_macro": 0.9}, "2026-01-01T00:00:00Z")
    comparison = rules.compare_versions(model, unrecorded, current, "production")
    assert comparison.data == "unknown" and comparison.judged  # compared as if on the same data
    assert [c.verdict for c in comparison.changes] == ["regression", "regression"]
