"""Every file under .github/ is checked against its schema, with the real
check-jsonschema and the schemas it ships (GitHub workflows, Dependabot,
issue forms, actions), so a broken workflow fails here and not on GitHub
after merge. The e2e workflow is also held to its pins: actions by commit
SHA, kind by the version and checksum in shipyard/e2e/pins.py. Every
workflow passes the security rules below, and the real zizmor's audit."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import tomllib
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from shipyard.e2e import pins

REPO_ROOT = Path(__file__).resolve().parents[2]
GITHUB = REPO_ROOT / ".github"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"

# .github path pattern -> check-jsonschema built-in schema (first match wins).
SCHEMAS = [
    ("workflows/*.yml", "vendor.github-workflows"),
    ("workflows/*.yaml", "vendor.github-workflows"),
    ("dependabot.yml", "vendor.dependabot"),
    ("dependabot.yaml", "vendor.dependabot"),
    ("ISSUE_TEMPLATE/config.yml", "vendor.github-issue-config"),
    ("ISSUE_TEMPLATE/*.yml", "vendor.github-issue-forms"),
    ("ISSUE_TEMPLATE/*.yaml", "vendor.github-issue-forms"),
    ("DISCUSSION_TEMPLATE/*.yml", "vendor.github-discussion"),
    ("actions/*/action.yml", "vendor.github-actions"),
    ("actions/*/action.yaml", "vendor.github-actions"),
]
# Files GitHub reads that are not YAML and have no schema: checked to be text only.
PLAIN = ["CODEOWNERS", "*.md", "ISSUE_TEMPLATE/*.md", "PULL_REQUEST_TEMPLATE/*.md"]


def schema_for(rel: str) -> str | None:
    for pattern, schema in SCHEMAS:
        if fnmatch.fnmatchcase(rel, pattern):
            return schema
    return None


def github_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def validate_github_folder(root: Path) -> list[str]:
    """Problems with the files under ``root`` (a .github folder); empty when all valid."""
    problems: list[str] = []
    by_schema: dict[str, list[Path]] = defaultdict(list)
    for path in github_files(root):
        rel = path.relative_to(root).as_posix()
        schema = schema_for(rel)
        if schema:
            by_schema[schema].append(path)
        elif any(fnmatch.fnmatchcase(rel, p) for p in PLAIN):
            try:
                path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append(f".github/{rel}: not UTF-8 text")
        else:
            problems.append(f".github/{rel}: no schema is known for this file; add it to SCHEMAS or PLAIN "
                            "in tests/unit/test_workflows.py")
    for schema, paths in sorted(by_schema.items()):
        proc = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            problems.append(f"{schema}: {proc.stdout.strip()} {proc.stderr.strip()}".strip())
    return problems


def test_every_file_under_github_matches_its_schema() -> None:
    files = github_files(GITHUB)
    assert files, ".github/ holds no file"
    assert validate_github_folder(GITHUB) == []


def test_a_broken_workflow_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / ".github"
    (folder / "workflows").mkdir(parents=True)
    (folder / "workflows" / "bad.yml").write_text(
        "name: bad\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n"
        "        run: echo both\n        timeout: 5\n", encoding="utf-8")
    (folder / "stray.json").write_text("{}", encoding="utf-8")
    problems = validate_github_folder(folder)
    assert any(p.startswith("vendor.github-workflows:") and "bad.yml" in p for p in problems), problems
    assert any("stray.json: no schema is known" in p for p in problems), problems


# -- the e2e workflow ------------------------------------------------------------

E2E = GITHUB / "workflows" / "e2e.yml"


@pytest.fixture(scope="module")
def e2e_workflow() -> dict:
    return yaml.safe_load(E2E.read_text(encoding="utf-8"))


def test_e2e_workflow_installs_the_pinned_kind_and_checks_its_checksum(e2e_workflow: dict) -> None:
    env = e2e_workflow["env"]
    assert env["KIND_VERSION"] == pins.KIND_VERSION
    assert env["KIND_SHA256"] == pins.KIND_SHA256["amd64"]
    # pytest-kind comes from the project's e2e extra, pinned as the suite expects
    project = tomllib.loads((GITHUB.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pins.PYTEST_KIND_REQUIREMENT in project["project"]["optional-dependencies"]["e2e"]
    steps = e2e_workflow["jobs"]["kind"]["steps"]
    install = next(s["run"] for s in steps if "kind" in s.get("name", "").lower() and "run" in s)
    assert "sha256sum --check" in install and "${KIND_VERSION}" in install


def test_e2e_workflow_pins_actions_by_commit_and_uploads_logs_on_failure(e2e_workflow: dict) -> None:
    text = E2E.read_text(encoding="utf-8")
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{ref} is not pinned by commit SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{ref}: say which release the SHA is"
    steps = e2e_workflow["jobs"]["kind"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.strip() == "make setup" for r in runs)
    suite = next(i for i, r in enumerate(runs) if r.startswith(".venv/bin/shipyard e2e --logs"))
    logs = runs[suite].split("--logs", 1)[1].split()[0]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["if"] == "failure()" and upload["with"]["path"] == logs
    assert steps.index(upload) > suite


# -- the workflows' own security ---------------------------------------------------
#
# Expressions reach scripts through env, never inside run: (a branch name or a
# pull request title is text its author chose, and inside a script it is
# code); a checkout leaves no token in .git/config unless its job pushes with
# it. Then the real zizmor (pinned in the `test` extras) audits everything
# under .github/, offline, with its pedantic persona, every severity: a
# finding fails here, unless a `# zizmor: ignore[audit] reason` comment
# accepts it, and such a comment must give a reason and still match a finding.

ZIZMOR = Path(sys.executable).parent / "zizmor"
IGNORE = re.compile(r"#\s*zizmor:\s*ignore\[(?P<audits>[^\]]*)\](?P<reason>.*)$")


def workflows(root: Path = GITHUB) -> dict[str, dict]:
    return {p.relative_to(root).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted((root / "workflows").glob("*.y*ml"))}


def steps_of(workflow: dict) -> list[tuple[str, dict, dict]]:
    """(job id, job, step) for every step of ``workflow``."""
    return [(name, job, step) for name, job in (workflow.get("jobs") or {}).items() for step in job.get("steps") or []]


def test_expressions_reach_scripts_through_env() -> None:
    inline = [f"{file} job {job_id} step {step.get('name') or step.get('uses')}"
              for file, workflow in workflows().items() for job_id, _job, step in steps_of(workflow)
              if "${{" in str(step.get("run", ""))]
    assert inline == [], "move these ${{ }} expressions into the step's env: and use \"$NAME\" in the script"


def test_checkouts_keep_no_token_unless_the_job_pushes() -> None:
    persisted = []
    for file, workflow in workflows().items():
        for job_id, job, step in steps_of(workflow):
            if not str(step.get("uses", "")).startswith("actions/checkout@"):
                continue
            pushes = any("git push" in str(s.get("run", "")) for s in job.get("steps") or [])
            keeps = (step.get("with") or {}).get("persist-credentials", True) is not False
            if keeps != pushes:
                persisted.append(f"{file} job {job_id}: persist-credentials {'kept' if keeps else 'false'}, "
                                 f"{'pushes' if pushes else 'never pushes'}")
    assert persisted == []


def zizmor_problems(root: Path) -> list[str]:
    """What the real zizmor finds under ``root`` (a .github folder) that no
    ignore comment accepts, ignore comments without a reason, and ignore
    comments that no longer match a finding (stale: they would excuse the next one)."""
    assert ZIZMOR.is_file(), f"{ZIZMOR} is missing: it is in the `test` extras; run `make setup`"
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN")}
    proc = subprocess.run([str(ZIZMOR), "--offline", "--persona", "pedantic", "--no-ignores", "--no-exit-codes",
                           "--no-progress", "--format", "json", str(root)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=root.parent)
    assert proc.returncode == 0, proc.stderr
    problems: list[str] = []
    accepted: set[tuple[str, int, str]] = set()  # (file, 1-based line of the comment, audit)
    for finding in json.loads(proc.stdout):
        audit = finding["ident"]
        primary = next((loc for loc in finding["locations"] if loc["symbolic"]["kind"] == "Primary"),
                       finding["locations"][0])
        file = Path(primary["symbolic"]["key"]["Local"]["verbatim_path"]).resolve().relative_to(root.resolve()).as_posix()
        line = primary["concrete"]["location"]["start_point"]["row"] + 1
        what = (f".github/{file}:{line}: {audit} ({finding['determinations']['severity']}): {finding['desc']}: "
                f"{primary['symbolic'].get('annotation', '')}")
        if not finding["ignored"]:
            problems.append(what)
            continue
        lines = (root / file).read_text(encoding="utf-8").splitlines()
        spans = [loc["concrete"]["location"] for loc in finding["locations"]]
        top = min(loc["start_point"]["row"] for loc in spans) + 1  # an ignore may sit on any line of the finding
        bottom = max(loc["end_point"]["row"] for loc in spans) + 1
        for number in range(top, bottom + 1):
            match = IGNORE.search(lines[number - 1])
            if match and audit in [a.strip() for a in match["audits"].split(",")]:
                accepted.add((file, number, audit))
                if len(match["reason"].split()) < 3:
                    problems.append(f"{what}: ignored without a reason (write it after the comment)")
    for path in github_files(root):
        if path.suffix not in (".yml", ".yaml"):
            continue
        file = path.relative_to(root).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = IGNORE.search(text)
            for audit in ([a.strip() for a in match["audits"].split(",")] if match else []):
                if (file, number, audit) not in accepted:
                    problems.append(f".github/{file}:{number}: zizmor ignore[{audit}] matches no finding: remove it")
    return problems


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    assert zizmor_problems(GITHUB) == []


def test_zizmor_catches_an_injection_and_unexplained_or_stale_ignores(tmp_path: Path) -> None:
    folder = tmp_path / ".github"
    (folder / "workflows").mkdir(parents=True)
    checkout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
    (folder / "workflows" / "bad.yml").write_text(f"""name: bad
on: [pull_request]
permissions: {{}}
jobs:
  greet:
    name: Greet
    runs-on: ubuntu-24.04
    steps:
      - uses: {checkout}
        with: # zizmor: ignore[artipacked]
          fetch-depth: 1
      - name: Title
        run: echo "${{{{ github.event.pull_request.title }}}}" # zizmor: ignore[unpinned-uses] no such finding here
""", encoding="utf-8")
    problems = zizmor_problems(folder)
    assert any(p.startswith(".github/workflows/bad.yml:13: template-injection (High)") for p in problems), problems
    assert any("artipacked" in p and "ignored without a reason" in p for p in problems), problems
    assert any(p.startswith(".github/workflows/bad.yml:13: zizmor ignore[unpinned-uses] matches no finding")
               for p in problems), problems
