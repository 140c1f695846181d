"""docs/checks.md, generated from the id catalogue (shipyard.ids).

The table of checks is the contract between the toolkit, its findings and
the people who read them; written by hand it drifts from the code within a
week. So it is generated: every catalogued id with its title, rationale and
fix, plus the built-in upstream waivers with their reasons. A test fails
when the committed page differs from what this module renders.

Regenerate::

    python -m shipyard.checks.doc            # writes docs/checks.md of this repository
    python -m shipyard.checks.doc --check    # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DOC_PATH = "docs/checks.md"
COMMAND = "python -m shipyard.checks.doc"

INTRO = """\
Every finding of `shipyard validate` names one of these checks. Each check has
an id, a title, the reason it exists and how to fix what it reports. Ids are
stable: they are what waivers, CI annotations and this page refer to.

Families: SY1xx schema and strictness, SY2xx admission rules (Seldon, Training
Operator, Katib), SY3xx policies, SY4xx cross-references, SY5xx models and
promotion gates, SY9xx environment and bad input (these stop a command with
exit code 2).
"""

SCOPE = """\
## What the policies judge

Policies (SY3xx) are about decisions made in this repository. Rendered
upstream components (the charts of seldon-core-operator, the GPU operator and
Istio; the Kubeflow Pipelines, Katib and Training Operator remote bases)
carry their own choices, so each policy states whether it judges them:

- **Judged everywhere:** SY301 (an upstream image on `:latest` is fixed by
  chart values, for example istiod's `global.tag`), SY303/SY304 (every GPU
  counts against the cluster), SY314/SY315 (a removed apiVersion fails the
  apply whoever wrote it), SY316 (the API server refuses a pod below its
  namespace's Pod Security level wherever the pod came from).
- **SY305 plaintext Secrets** judges where the object came from. A Secret a
  chart *generates at render time* (the seldon-core-operator chart renders its
  webhook certificate as one) was never in git and is not judged. A Secret
  from a remote kustomize base is plaintext in upstream's git and is applied
  as written: it is reported, and the repository replaces it (SOPS,
  SealedSecret, ExternalSecret) or waives it in `shipyard.yaml` with a reason.
- **SY302, SY309-SY311 and SY313** are reported for upstream objects and then
  waived by the built-in upstream waivers below, so `validate` lists them as
  waived, with the reason, instead of failing. Wildcard RBAC in particular is
  how operators such as istiod, Katib and the Kubeflow Pipelines runner manage
  whole API groups; their rules change only with the pin, and `shipyard diff`
  shows every changed rule in the pull request that bumps it. Wildcards in
  this repository's own Roles are errors.
- **SY306-SY308 and SY312** look at SeldonDeployments, which only this
  repository's models create. SY308 and SY312 need a whole overlay or entry
  point to judge (a PodDisruptionBudget or NetworkPolicy may live in another
  file of it), so they skip single files and folders.

GPU facts come from `clusters/<cluster>/cluster.yaml`:

```yaml
spec:
  gpu:
    capacity: 8                            # nvidia.com/gpu across all GPU nodes
    nodeSelector: {nvidia.com/gpu.present: "true"}
    tolerations:
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
```

Replicas count as the workload runs them: a SeldonDeployment componentSpec's
`replicas`, else its predictor's, else `spec.replicas`, else 1; with an
`hpaSpec` (or a HorizontalPodAutoscaler), its minimum for SY307 and its
maximum for SY304.
"""

IMITATES_INTRO = """\
## What each check imitates

A check that stands in for an upstream system (the API server, an admission
webhook, a GitOps controller, Prometheus) follows that system's own source at
the version this repository pins; this table names where. Each is tested on
upstream examples that must pass as well as on broken ones (tests/fixtures).
"""

WAIVERS = """\
## Waivers

A waiver excuses one check for a path or an object, and always says why. A
waiver without a reason waives nothing and is reported (SY390).

On the object (most specific):

```yaml
metadata:
  annotations:
    shipyard.dev/waive: "SY301=vendor image is published without tags; SY302=sized by the vendor's operator"
```

In `shipyard.yaml`, by path (a glob on the finding's file or render target;
`**` crosses folders) or by object (`Kind/name` or `Kind/namespace/name`):

```yaml
waivers:
- check: SY305
  object: Secret/kubeflow/mysql-secret
  reason: KFP's in-cluster MySQL credentials; the database is reachable only inside the kubeflow namespace
- check: [SY302, SY306]
  path: models/legacy-*/**
  reason: frozen model, retired in Q3; not worth resizing
```

Waived findings are still listed (as waived, with their reason), so a waiver
never hides what it excuses.
"""


CHANGED_SINCE = """
## What `--changed-since` renders

`shipyard validate --changed-since REF` checks the targets (overlays and
cluster entry points) whose input files changed since REF (committed,
staged, unstaged or untracked), found statically from the kustomizations
and GitOps objects before anything is rendered (shipyard.changes). Both
entry points of a cluster are kept together, so Argo CD and Flux are
still compared (SY406). Each target is checked whole: its namespaces
(SY403), network policies, Argo CD projects (SY409) and engine agreement
see every object the cluster receives, with one exception below.

Renders come from the render cache where they are (warm: exact). With a
cold cache, a **model change** does not render the upstream bases it
cannot reach (a local folder whose kustomization lists a remote base, such
as `base/kubeflow-pipelines`, `base/training-operator`, `base/katib`): most
of a cold run's time is theirs. A model change is one where every changed
file lies in `models/` or `overlays/<env>/models/` and, before and after the
change, holds only kustomizations whose references stay there (no remote
base) or manifests of the kinds models use (SeldonDeployment, ConfigMap,
Secret, Service, ServiceAccount, PodMonitor, ServiceMonitor, PrometheusRule,
CronJob, Job, Deployment, NetworkPolicy, PodDisruptionBudget,
HorizontalPodAutoscaler): all namespaced, none a fact that upstream objects
are judged against. The overlays that include those bases are rendered
without them (kustomize applies the overlay's own patches to what remains;
a strategic-merge patch that names an upstream object gets a stand-in
object that is dropped after the build), their CRDs come from the committed
index (`.shipyard/crds`, kept current by `shipyard schemas index --check`
in CI), and, after the render, every object from the models' folders must
still be of those kinds, or the whole run renders again with every base.
Chart releases are treated alike: a HelmRelease or Argo CD Application
whose own file and values files (a HelmRelease's valuesFrom objects, an
Application's `$values/...` files) did not change and lie outside the
models' folders is not rendered by helm in such a run (its CRDs come from
the same index), whatever the render cache holds, so the two engines of a
cluster always stand in the same charts. The chart itself is still
declared (SY405's chart pins and SY411's cluster facts see it).
Without the index, or for any other change (a base, an overlay, an entry
point, `cluster.yaml`, `shipyard.yaml`), everything the targets include is
rendered.

Why that is safe: the upstream objects and the charts' objects are
unchanged (none of their inputs changed), the facts they are judged against (Namespaces, NetworkPolicies
outside the models, AppProjects, CRDs, the entry points' paths) are
unchanged too (no changed file may hold them), and both engines of a
cluster deploy the same overlay build, so they agree on the upstream part
as they did at REF. What is not re-checked, stated plainly: findings on the
upstream and chart objects themselves (unchanged since REF; the full run on the
target branch reports them), and a model object that meets an upstream
object in one namespace (the same id, or a model's PodDisruptionBudget or
NetworkPolicy selecting upstream pods). Models live in their own
namespace (`models`), so that takes a change that moves a model there.
`SHIPYARD_SHARED_BASES=0` turns this off (and the shared base builds of
shipyard.render.shared with it).
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    """The full text of docs/checks.md for the current registry."""
    from shipyard.ids import CATALOGUE
    from shipyard.waivers import BUILTIN_WAIVERS, UPSTREAM_PATHS

    registry = CATALOGUE
    out = [
        f"<!-- Generated by `{COMMAND}` from the id catalogue (tools/shipyard/ids.py). Do not edit by hand. -->",
        "",
        "# Checks",
        "",
        INTRO,
    ]
    out += ["| id | title | why | fix |", "|---|---|---|---|"]
    for check_id in sorted(registry):
        info = registry[check_id]
        out.append(f"| {check_id} | {_cell(info.title)} | {_cell(info.rationale)} | {_cell(info.hint)} |")
    out += ["", IMITATES_INTRO, "| id | upstream source (repository, file, function) |", "|---|---|"]
    for check_id in sorted(registry):
        info = registry[check_id]
        if info.imitates:
            out.append(f"| {check_id} | {_cell(info.imitates)} |")
    out += ["", SCOPE, WAIVERS]
    out += [
        "## Built-in upstream waivers",
        "",
        "These apply to objects whose source is "
        + " or ".join(f"`{p}`" for p in UPSTREAM_PATHS)
        + " (a chart template, or a remote kustomize base). `upstreamWaivers: false` in `shipyard.yaml` "
        "turns them off.",
        "",
        "| checks | reason |",
        "|---|---|",
    ]
    for waiver in BUILTIN_WAIVERS:
        out.append(f"| {', '.join(waiver.checks)} | {_cell(waiver.reason)} |")
    out.append(CHANGED_SINCE.rstrip("\n"))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Write docs/checks.md from the check registry.")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when the file is out of date")
    parser.add_argument("--output", type=Path, help=f"file to write (default: {DOC_PATH} of this repository)")
    args = parser.parse_args(argv)
    if args.output is not None:
        output = args.output
    else:
        from shipyard.errors import ShipyardError
        from shipyard.repo import Repository

        try:
            output = Repository.find().root / DOC_PATH
        except ShipyardError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    text = render()
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if args.check:
        if current != text:
            print(f"{output} is out of date; run: {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
