"""The canary analysis decision (shipyard.lifecycle.analysis), on numbers:
wait, abort, step, finish; the declaration's rules (SY517); the default
queries over the seldon-core executor's metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shipyard.lifecycle import analysis
from shipyard.lifecycle.analysis import Figures, decide, next_step
from shipyard.models.spec import AnalysisMetric, CanaryAnalysis, load_model
from shipyard.monitoring import seldon_metrics as sm
from shipyard.monitoring.promql import parse
from shipyard.repo import Repository

if TYPE_CHECKING:
    from conftest import LifecycleRepo  # the `lc` fixture

ERRORS = AnalysisMetric("errorRate", max=0.05, tolerance=0.01)
LATENCY = AnalysisMetric("latencyP95", max=0.5, tolerance=50, relative=True)
SPEC = CanaryAnalysis(window="5m", min_requests=100, steps=(10, 25, 50, 100), requests=None,
                      metrics=(ERRORS, LATENCY), declared=True)


def figures(version: str, requests: float | None, errors: float | None, latency: float | None) -> Figures:
    return Figures(version, requests, {"errorRate": errors, "latencyP95": latency})


STABLE = figures("1.0.0", 5000, 0.001, 0.10)


def test_a_healthy_canary_steps_to_the_next_step() -> None:
    decision = decide(SPEC, 10, figures("1.1.0", 400, 0.002, 0.12), STABLE)
    assert (decision.action, decision.target) == ("step", 25)
    assert [r.verdict for r in decision.rows] == ["pass", "pass"]


def test_from_the_last_step_below_100_it_finishes() -> None:
    decision = decide(SPEC, 50, figures("1.1.0", 400, 0.0, 0.1), STABLE)
    assert (decision.action, decision.target) == ("finish", 100)
    # a canary started by hand between steps goes to the next one above it
    assert next_step(SPEC.steps, 30) == 50 and next_step(SPEC.steps, 60) == 100


def test_too_few_requests_waits_whatever_the_figures() -> None:
    for requests in (None, 0, 99):
        decision = decide(SPEC, 10, figures("1.1.0", requests, 0.9, 9.0), STABLE)
        assert decision.action == "wait" and "fewer than the 100 needed" in decision.reason


@pytest.mark.parametrize(("errors", "latency", "why"), [
    (0.06, 0.1, "errorRate: 0.06 is above 0.05"),  # absolute bound
    (0.02, 0.1, "errorRate: 0.02 is worse than stable's 0.001 by 0.019, more than 0.01"),  # beyond stable + 0.01
    (0.0, 0.16, "latencyP95: 0.16 is worse than stable's 0.1 by 0.06, more than 0.05"),  # beyond stable + 50 %
    (0.0, 0.6, "latencyP95: 0.6 is above 0.5"),
])
def test_a_figure_beyond_its_threshold_aborts(errors: float, latency: float, why: str) -> None:
    decision = decide(SPEC, 25, figures("1.1.0", 400, errors, latency), STABLE)
    assert decision.action == "abort"
    assert decision.reason == why


def test_within_the_tolerance_passes_and_higher_is_better_is_mirrored() -> None:
    assert decide(SPEC, 10, figures("1.1.0", 400, 0.011, 0.149), STABLE).action == "step"
    share = AnalysisMetric("servedShare", query="x", better="higher", min=0.9, tolerance=0.05)
    spec = CanaryAnalysis("5m", 1, (50, 100), None, (share,), True)
    ok = decide(spec, 50, Figures("b", 10, {"servedShare": 0.96}), Figures("a", 10, {"servedShare": 1.0}))
    worse = decide(spec, 50, Figures("b", 10, {"servedShare": 0.94}), Figures("a", 10, {"servedShare": 1.0}))
    assert ok.action == "finish" and worse.action == "abort"


def test_no_data_waits_and_a_stable_without_data_is_judged_on_bounds_only() -> None:
    assert decide(SPEC, 10, figures("1.1.0", 400, 0.0, None), STABLE).action == "wait"
    no_stable = figures("1.0.0", None, None, None)
    assert decide(SPEC, 10, figures("1.1.0", 400, 0.01, 0.4), no_stable).action == "step"


def test_the_table_shows_every_figure_and_verdict() -> None:
    text = analysis.table(decide(SPEC, 10, figures("1.1.0", 400, 0.06, 0.12), STABLE))
    assert text.splitlines()[:2] == ["| metric | canary `1.1.0` | stable `1.0.0` | threshold | verdict |",
                                     "|---|---|---|---|---|"]
    assert "| requests (5m) | 400 | 5000 | ≥ 100 | pass |" in text  # counts in full, not 5e+03
    assert "| errorRate | 0.06 | 0.001 | ≤ 0.05; ≤ stable + 0.01 | fail |" in text
    assert "| latencyP95 | 0.12 | 0.1 | ≤ 0.5; ≤ stable + 50% | pass |" in text


def test_default_queries_select_the_executor_metrics_by_version() -> None:
    """The defaults name what seldon-core 1.17.1's executor emits, with its
    labels, and count an error on either transport as models/iris's alert does."""
    for template in (analysis.DEFAULT_REQUESTS, *analysis.DEFAULT_QUERIES.values()):
        expr = parse(analysis.render(template, "iris", "1.1.0", "5m"))
        emitted = sm.EXECUTOR.series()
        for selector in expr.selectors:
            assert selector.metric in emitted
            names = {m.name for m in selector.matchers}
            assert names <= set(emitted[selector.metric])
            assert [m.value for m in selector.on(sm.PREDICTOR_VERSION)] == ["1.1.0"]
            assert [m.value for m in selector.on(sm.DEPLOYMENT_NAME)] == ["iris"]
            service = selector.on(sm.SERVICE)[0]
            assert service.matches("predictions") and service.matches("/seldon.protos.Seldon/Predict")
            assert not service.matches("feedback") and not service.matches("/seldon.protos.SeldonXPredict")
    errors = parse(analysis.render(analysis.DEFAULT_QUERIES["errorRate"], "iris", "1", "5m")).selectors[0].on(sm.CODE)[0]
    assert [errors.matches(c) for c in ("200", "OK", "500", "Unknown", "404")] == [False, False, True, True, True]


def test_a_version_is_quoted_into_promql() -> None:
    assert analysis.render('x{v="$version"}[$window]', "m", 'a"b\\', "1m") == 'x{v="a\\"b\\\\"}[1m]'


def test_model_yaml_analysis_is_read_with_defaults(lc: LifecycleRepo) -> None:
    repo = Repository.load(lc.root)
    default = load_model(repo, "iris").analysis
    assert (default.declared, default.window, default.min_requests, default.steps) == (False, "5m", 100, (10, 25, 50, 100))
    assert [(m.name, m.max, m.tolerance, m.relative) for m in default.metrics] == [
        ("errorRate", 0.05, None, False), ("latencyP95", None, 50.0, True)]
    text = lc.read("models/iris/model.yaml").replace("  versions:\n", """  analysis:
    window: 10m
    steps: [5, 100]
    metrics:
      latencyP95: {max: 0.3, tolerance: "20%"}
  versions:
""", 1)
    lc.write("models/iris/model.yaml", text)
    declared = load_model(Repository.load(lc.root), "iris").analysis
    assert (declared.declared, declared.window, declared.steps) == (True, "10m", (5, 100))
    assert [(m.name, m.max, m.tolerance, m.relative) for m in declared.metrics] == [("latencyP95", 0.3, 20.0, True)]
    assert analysis.problems(load_model(Repository.load(lc.root), "iris")) == []


@pytest.mark.parametrize(("section", "message"), [
    ("    steps: [10, 50, 25, 100]\n", "analysis.steps [10, 50, 25, 100] must rise strictly and end at 100"),
    ("    steps: [10, 50]\n", "analysis.steps [10, 50] must rise strictly and end at 100"),
    ("    metrics:\n      saturation: {max: 1}\n", "analysis.metrics.saturation has no query"),
    ("    metrics:\n      errorRate: {better: lower}\n", "analysis.metrics.errorRate has no max, min or tolerance"),
    ("    requests: 'sum(rate(x{a=\"$model\"}[$windw]))'\n", "analysis.requests: unknown placeholder $windw"),
    ("    metrics:\n      p99: {query: 'histogram_quantile(0.99, sum by (le) (rate(x[$window]))', max: 1}\n",
     "analysis.metrics.p99.query is not PromQL"),
])
def test_a_bad_declaration_is_refused(lc: LifecycleRepo, section: str, message: str) -> None:
    lc.write("models/iris/model.yaml", lc.read("models/iris/model.yaml").replace(
        "  versions:\n", "  analysis:\n" + section + "  versions:\n", 1))
    found = analysis.problems(load_model(Repository.load(lc.root), "iris"))
    assert found and found[0].id == "SY517" and found[0].message.startswith(message)
    assert found[0].file == "models/iris/model.yaml" and found[0].line > 1
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", "http://127.0.0.1:9")
    assert run.code == 2 and message in run.err and "Traceback" not in run.err


def test_the_schema_refuses_a_bad_window_and_unknown_fields(lc: LifecycleRepo) -> None:
    lc.write("models/iris/model.yaml", lc.read("models/iris/model.yaml").replace(
        "  versions:\n", "  analysis:\n    window: 5 minutes\n    speed: 3\n  versions:\n", 1))
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", "http://127.0.0.1:9")
    assert run.code == 2
    assert "window is a Prometheus duration such as 30s, 5m or 1h" in run.err
    assert "unknown field 'speed'" in run.err


def test_without_a_canary_or_a_prometheus_there_is_nothing_to_analyze(lc: LifecycleRepo,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHIPYARD_PROMETHEUS_URL", raising=False)
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze")
    assert run.code == 2 and "canary analysis needs Prometheus, and none is named" in run.err
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze", "--prometheus-url", "http://127.0.0.1:9")
    assert run.code == 2 and "no canary of iris is running in production: nothing to analyze" in run.err
    run = lc.shipyard("rollout", "iris", "--env", "production", "--finish", "--prometheus-url", "http://127.0.0.1:9")
    assert run.code == 2 and "--prometheus-url goes with --analyze" in run.err
    lc.write("shipyard.yaml", lc.read("shipyard.yaml") + "prometheus:\n  url: prometheus:9090\n")
    run = lc.shipyard("rollout", "iris", "--env", "production", "--analyze")
    assert run.code == 2 and "shipyard.yaml" in run.err and "prometheus.url must be an http:// or https:// URL" in run.err


def test_the_repository_models_declare_a_valid_analysis() -> None:
    """models/iris's example analysis reads and passes SY517."""
    from pathlib import Path

    repo = Repository.load(Path(__file__).resolve().parents[2])
    model = load_model(repo, "iris")
    assert model.analysis.declared and model.analysis.window == "10m"
    assert analysis.problems(model) == []


def test_a_canary_changed_since_it_was_measured_is_not_written(lc: LifecycleRepo) -> None:
    """The figures are asked for before the work tree is locked; if the pin
    moved in between (someone stepped the canary by hand), the plan stops."""
    from shipyard.errors import ShipyardError
    from shipyard.lifecycle.rollout import analyze, plan_analyzed

    assert lc.shipyard("promote", "iris", "--to", "dev", "--version", "1.1.0", "--no-branch").code == 0
    assert lc.shipyard("promote", "iris", "--to", "staging", "--no-branch").code == 0
    assert lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "10",
                       "--no-branch").code == 0
    seen: list[str] = []

    def ask(expr: str) -> float:
        seen.append(expr)
        return 1000.0 if expr.startswith("sum(increase(") else 0.01  # the request count; every other figure 0.01

    analyzed = analyze(Repository.load(lc.root), "iris", "production", ask, source="test")
    assert analyzed.decision.action == "step" and analyzed.decision.target == 25
    assert len(seen) == 6 and sum('predictor_version="1.1.0"' in e for e in seen) == 3  # canary, then stable
    assert lc.shipyard("promote", "iris", "--to", "production", "--version", "1.1.0", "--canary", "30",
                       "--no-branch").code == 0
    with pytest.raises(ShipyardError, match="changed while it was analyzed"):
        plan_analyzed(Repository.load(lc.root), analyzed)
