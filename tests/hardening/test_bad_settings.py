"""cluster.yaml and shipyard.yaml with bad values.

Settings are read strictly: a value of the wrong type or form is an error
with the file and line, because a misread setting (Kubernetes 1.30 read as
the number 1.3, an engine list read as letters) silently changes what every
check judges.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.repo import Repository

CLUSTER = "clusters/c1/cluster.yaml"
HEAD = "apiVersion: shipyard.dev/v1alpha1\nkind: Cluster\nspec:\n"
DEV = HEAD + "  environment: dev\n"

# (name, cluster.yaml text, check id, line, message)
CASES = [
    ("version-word", DEV + '  kubernetesVersion: "latest"\n', "SY900", 5, "not a Kubernetes version: 'latest'"),
    ("version-unquoted", DEV + "  kubernetesVersion: 1.30\n", "SY900", 5,
     "kubernetesVersion must be a quoted string, not the number 1.3"),
    ("version-patch-x", DEV + '  kubernetesVersion: "1.33.x"\n', "SY900", 5, "not a Kubernetes version: '1.33.x'"),
    ("version-major-2", DEV + '  kubernetesVersion: "2.0"\n', "SY900", 5, "not a Kubernetes version: '2.0'"),
    ("version-huge", DEV + '  kubernetesVersion: "1.99999999999999999999"\n', "SY900", 5,
     "not a Kubernetes version: '1.99999999999999999999'"),
    ("version-empty", DEV + '  kubernetesVersion: ""\n', "SY900", 5, "not a Kubernetes version: ''"),
    ("version-list", DEV + "  kubernetesVersion: [1, 33]\n", "SY900", 5,
     "kubernetesVersion must be a quoted string, not the list [1, 33]"),
    ("spec-null", HEAD, "SY900", 3, "spec must be a mapping of the cluster's facts"),
    ("no-environment", HEAD + '  kubernetesVersion: "1.33"\n', "SY900", 3, "cluster.yaml has no environment"),
    ("environment-number", HEAD + "  environment: 3\n", "SY900", 4,
     "environment must be a folder name in overlays/, not 3"),
    ("engines-string", HEAD + "  environment: dev\n  engines: argocd\n", "SY900", 5,
     "engines must be a list of argocd and flux, not 'argocd'"),
    ("engines-unknown", HEAD + "  environment: dev\n  engines: [helmfile]\n", "SY900", 5,
     "engines must be a list of argocd and flux, not ['helmfile']"),
    ("gpu-word", HEAD + "  environment: dev\n  gpu:\n    capacity: lots\n", "SY900", 6,
     "gpu.capacity must be a whole number of GPUs, not 'lots'"),
    ("gpu-number", HEAD + "  environment: dev\n  gpu: 4\n", "SY900", 5, "gpu must be a mapping, not 4"),
    ("istio-string", HEAD + '  environment: dev\n  istio: "false"\n', "SY900", 5, "istio must be true or false, not 'false'"),
    ("duplicate-key", HEAD + "  environment: dev\n  environment: production\n", "SY103", 5,
     "duplicate key spec.environment (first at line 4)"),
    ("two-documents", HEAD + "  environment: dev\n---\n" + HEAD, "SY910", 6, "expected one YAML document, found 2"),
    ("top-level-list", "- environment: dev\n", "SY910", 1, "expected a mapping (key: value) at the top level"),
    ("tabs", HEAD + "\tenvironment: dev\n", "SY910", 4,
     "invalid YAML: a tab character at column 1: YAML indents with spaces only"),
]


@pytest.mark.parametrize(("name", "text", "check", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_cluster_yaml(corpus: Path, shipyard, name: str, text: str, check: str, line: int, message: str) -> None:
    (corpus / "clusters" / "c1").mkdir(parents=True)
    (corpus / CLUSTER).write_text(text, encoding="utf-8")
    error = shipyard("validate").error
    assert (error["check"], error["file"], error["line"]) == (check, CLUSTER, line)
    assert error["message"] == message and error["hint"]


def test_cluster_yaml_not_utf8(corpus: Path, shipyard) -> None:
    (corpus / "clusters" / "c1").mkdir(parents=True)
    (corpus / CLUSTER).write_bytes(HEAD.encode() + b"  environment: d\xe9v\n")
    error = shipyard("validate").error
    assert (error["check"], error["file"], error["line"]) == ("SY910", CLUSTER, 4)


@pytest.mark.parametrize(("written", "read"), [('"1.33"', "1.33.0"), ('"v1.34.2"', "1.34.0"),
                                               ('"v1.33.2-eks-4f4795d"', "1.33.0"), ('"1.99"', "1.99.0")])
def test_versions_as_clusters_report_them_are_read(corpus: Path, written: str, read: str) -> None:
    (corpus / "clusters" / "c1").mkdir(parents=True)
    (corpus / CLUSTER).write_text(HEAD + f"  environment: dev\n  kubernetesVersion: {written}\n  engines: []\n",
                                  encoding="utf-8")
    assert Repository.load(corpus).cluster("c1").kubernetes_version == read


@pytest.mark.parametrize(("text", "check", "line", "message"), [
    ('defaults:\n  kubernetesVersion: 1.30\n', "SY900", 2,
     "defaults.kubernetesVersion must be a quoted string, not 1.3"),
    ('defaults:\n  kubernetesVersion: "1.x"\n', "SY900", 2, "not a Kubernetes version: '1.x'"),
    ("repository:\n  url: a\nrepository:\n  url: b\n", "SY103", 3, "duplicate key repository (first at line 1)"),
    ("repository: [\n", "SY910", 2, "invalid YAML: did not find expected node content (at the end of the file; "
     "while parsing a flow node)"),
    ("just text\n", "SY910", 1, "expected a mapping (key: value) at the top level"),
])
def test_bad_shipyard_yaml(corpus: Path, shipyard, text: str, check: str, line: int, message: str) -> None:
    (corpus / "shipyard.yaml").write_text(text, encoding="utf-8")
    error = shipyard("validate", "files/empty.yaml").error
    assert (error["check"], error["file"], error["line"]) == (check, "shipyard.yaml", line)
    assert error["message"] == message
