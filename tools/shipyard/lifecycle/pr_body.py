"""The pull request a lifecycle command opens: its sections (what changes,
metrics beside the gate, the version's artifact), the rendered change field
by field, and the commit message drawn from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shipyard.files import write_report
from shipyard.lifecycle.plan import Outcome, Plan
from shipyard.models.rules import Comparison, MetricChange
from shipyard.models.spec import Model, Version

def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def metrics_table(model: Model, old: Version | None, new: Version, env: str) -> str:
    names = list(new.metrics)
    for name in (old.metrics if old else {}):
        if name not in names:
            names.append(name)
    gates = {b.metric: b for b in model.gates_for(env)}
    for name in gates:
        if name not in names:
            names.append(name)
    head_old = f"{old.version} (now)" if old else "now"
    rows = [f"| metric | {head_old} | {new.version} (new) | {env} gate |", "|---|---|---|---|"]
    for name in names:
        gate = gates.get(name)
        if gate:
            verdict = f"{gate.describe()} " + ("pass" if gate.passes(new.metrics.get(name)) else "FAIL")
        else:
            verdict = "no gate"
        rows.append(f"| {name} | {_fmt(old.metrics.get(name) if old else None)} | {_fmt(new.metrics.get(name))} | {verdict} |")
    return "\n".join(rows)


def compare_table(old: Version | None, new: Version) -> str:
    """Metrics of a new version beside the latest registered one."""
    names = list(new.metrics) + [n for n in (old.metrics if old else {}) if n not in new.metrics]
    head = f"| metric | {old.version} (latest) | {new.version} (new) |" if old else f"| metric | {new.version} (new) |"
    rows = [head, "|---|---|---|" if old else "|---|---|"]
    for name in names:
        if old:
            rows.append(f"| {name} | {_fmt(old.metrics.get(name))} | {_fmt(new.metrics.get(name))} |")
        else:
            rows.append(f"| {name} | {_fmt(new.metrics.get(name))} |")
    return "\n".join(rows)


ACCEPTED = "## Regression accepted"


def _verdict(change: MetricChange, comparison: Comparison, accepted: bool) -> str:
    verdict = change.verdict
    if verdict == "missing":
        return "**not reported**" + (" (accepted)" if accepted else "")
    if verdict == "within":
        return "**worse**, within the tolerance"
    if verdict == "regression":
        if not comparison.judged:
            return "**worse, beyond the tolerance** (not judged: different evaluation data)"
        return "**worse, beyond the tolerance**" + (" (accepted)" if accepted else "")
    return verdict


def _change(change: MetricChange) -> str:
    if change.current is None or change.candidate is None:
        return "—"
    return f"{round(change.candidate - change.current, 12):+g}"


def comparison_section(model: Model, comparison: Comparison, *, accepted: bool) -> str:
    """Champion/challenger for the pull request: every compared metric of
    the candidate beside the version the environment runs now, each one that
    got worse flagged (within its tolerance or not), and whether the two
    were measured on the same evaluation data."""
    current, candidate, env = comparison.current, comparison.candidate, comparison.env
    head = f"## Compared with {current.version}, which {env} runs now\n\n"
    if not comparison.changes:
        if not model.compares:
            return head + f"- {model.rel} declares no spec.compare: no metric is compared (docs/models.md)"
        return head + f"- spec.compare in {model.rel} compares no metric in {env}"
    rows = [f"| metric | {current.version} (now) | {candidate.version} (new) | change | rule | verdict |",
            "|---|---|---|---|---|---|"]
    for change in comparison.changes:
        rows.append(f"| {change.rule.metric} | {_fmt(change.current)} | {_fmt(change.candidate)} | {_change(change)} | "
                    f"{change.rule.better} is better, tolerance {change.tolerance()} | "
                    f"{_verdict(change, comparison, accepted)} |")
    notes = []
    if comparison.data == "same":
        assert candidate.evaluation is not None
        notes.append(f"- Evaluation data: the same for both, {candidate.evaluation.dataset} "
                     f"(`{candidate.evaluation.digest}`)")
    elif comparison.data == "different":
        assert current.evaluation is not None and candidate.evaluation is not None
        notes.append(f"- **Evaluation data differs**: {current.version} was measured on {current.evaluation.describe()}, "
                     f"{candidate.version} on {candidate.evaluation.describe()}. Figures from different data do not say "
                     "which version is better, so no worse figure was refused; the gates still apply.")
    else:
        lacking = [v.version for v in (current, candidate) if v.evaluation is None]
        notes.append(f"- Evaluation data: {' and '.join(lacking)} {'does' if len(lacking) == 1 else 'do'} not record "
                     "it, so the figures are compared as if measured on the same data")
    return head + "\n".join(rows) + "\n\n" + "\n".join(notes)


def accepted_section(problem_message: str, reason: str) -> str:
    """The regression a promotion was told to accept, and why: in the pull
    request and in the commit message (commit_body)."""
    return f"{ACCEPTED}\n\n- accepted: {problem_message}\n- reason: {reason}"


def version_lines(version: Version) -> list[str]:
    lines = [f"- modelUri: `{version.model_uri}`"]
    if version.sha256:
        lines.append(f"- sha256: `{version.sha256}`")
    if version.pipeline_run:
        lines.append(f"- training run: `{version.pipeline_run}`")
    if version.evaluation:
        lines.append(f"- evaluated on: {version.evaluation.dataset} (`{version.evaluation.digest}`)")
    lines.append(f"- registered: {version.created}")
    return lines


def _short(value: Any, width: int = 100) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in items)


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    """Field-level differences; a subtree that appears or disappears whole
    is one line (a canary predictor is "added", not thirty fields)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(f"  - `{sub}`: added `{_short(b[key])}`")
            elif key not in b:
                out.append(f"  - `{sub}`: removed (was `{_short(a[key])}`)")
            else:
                _diff(a[key], b[key], sub, out)
    elif isinstance(a, list) and isinstance(b, list) and (_named(a) or _named(b)) and all(
            isinstance(v, dict) and isinstance(v.get("name"), str) for v in a + b):
        old = {v["name"]: v for v in a}
        new = {v["name"]: v for v in b}
        for name in list(old) + [n for n in new if n not in old]:
            sub = f"{path}[{name}]"
            if name not in old:
                out.append(f"  - `{sub}`: added")
            elif name not in new:
                out.append(f"  - `{sub}`: removed")
            else:
                _diff(old[name], new[name], sub, out)
    elif a != b:
        out.append(f"  - `{path}`: `{_short(a)}` → `{_short(b)}`")


def _object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {ns}{meta.get('name')}"


def rendered_changes(before: list[dict[str, Any]], after: list[dict[str, Any]], *, limit: int = 40) -> list[str]:
    """What changes in the rendered objects, field by field: the summary a
    reviewer reads instead of diffing kustomize output by hand."""
    old = {_object_key(o): o for o in before}
    new = {_object_key(o): o for o in after}
    lines: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            lines.append(f"- `{key}`: added")
            continue
        if key not in new:
            lines.append(f"- `{key}`: removed")
            continue
        changes: list[str] = []
        _diff(old[key], new[key], "", changes)
        if changes:
            lines.append(f"- `{key}`:")
            lines.extend(changes)
    if len(lines) > limit:
        lines = lines[:limit] + [f"- … {len(lines) - limit} more lines"]
    return lines or ["- no change in the rendered objects"]


def stable_section(model: Model, env: str, old: str | None, new: str, extra: list[str]) -> str:
    return "\n".join([
        "## What changes",
        "",
        f"- Model: `{model.name}` (owner: {model.owner})",
        f"- Environment: `{env}`",
        f"- Version: {('`' + old + '`') if old else 'not deployed'} → `{new}`",
        *extra,
    ])


def commit_body(plan: Plan) -> str:
    lines: list[str] = []
    for section in plan.sections:
        if section.startswith(("## What changes", "## Forced", ACCEPTED)):
            lines.extend(line for line in section.splitlines() if line.startswith("- "))
    return "\n".join(lines)


def write_pr_files(outcome: Outcome, title_file: Path | None, body_file: Path | None) -> None:
    """--pr-title and --pr-body, written like every report a user names."""
    if title_file is not None:
        write_report(title_file, outcome.title + "\n")
    if body_file is not None:
        write_report(body_file, outcome.body)
