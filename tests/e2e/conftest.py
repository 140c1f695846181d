"""The kind suite's set-up: options, the cluster, the stack installed in plan order.

Nothing here is faked: the cluster is a real kind cluster (created and
deleted with pytest-kind), the objects are what the cluster's entry point
renders to, applied step by step in the computed order with the pinned
kubectl. Where Docker, kind, the node image or pytest-kind is missing, every
test skips with one message naming exactly what is missing, so `make test`
stays green on machines that cannot run a cluster.

Options (pass them when running this folder: `pytest tests/e2e ...`, or use
`shipyard e2e`): --keep-cluster, --e2e-cluster, --e2e-engine, --e2e-logs,
--e2e-kind-name.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.e2e.artifacts import Probe, Unreachable, kind_plan, rclone_probe
from shipyard.e2e.cluster import Kubectl, dump_diagnostics, install_plan
from shipyard.e2e.pins import node_image_for
from shipyard.e2e.plan import DEFAULT_CLUSTER, Plan, choose_engine
from shipyard.e2e.preflight import check_node_image, find_kind, missing_requirements, summary
from shipyard.errors import ShipyardError
from shipyard.render.binaries import find_binaries
from shipyard.repo import Repository

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LOGS = REPO_ROOT / ".shipyard-cache" / "e2e"
FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kind")  # pytest-kind's group: its --keep-cluster is this same option
    options = [
        (("--keep-cluster",), {"action": "store_true", "help": "keep the kind cluster after the run (re-used next time)"}),
        (("--e2e-cluster",), {"default": DEFAULT_CLUSTER, "help": f"cluster folder under clusters/ (default {DEFAULT_CLUSTER})"}),
        (("--e2e-engine",), {"default": None, "choices": ["flux", "argocd"], "help": "entry point to follow (default: flux)"}),
        (("--e2e-logs",), {"default": str(DEFAULT_LOGS), "help": "step manifests and failure diagnostics go here"}),
        (("--e2e-kind-name",), {"default": "shipyard-e2e", "help": "name of the kind cluster"}),
    ]
    for names, kwargs in options:
        try:
            group.addoption(*names, **kwargs)
        except ValueError:  # already registered by pytest-kind (same meaning)
            pass


@dataclass(frozen=True)
class Settings:
    repo: Repository
    cluster: str
    engine: str
    environment: str
    node_image: str
    logs: Path
    kind_name: str
    keep: bool


def opted_in(config: pytest.Config) -> bool:
    """The suite takes minutes and a cluster, so it runs when asked for:
    `shipyard e2e`, `pytest tests/e2e`, `-m e2e`, or SHIPYARD_E2E=1, and not
    as a side effect of `pytest tests` on a machine that happens to have Docker."""
    if os.environ.get("SHIPYARD_E2E") == "1":
        return True
    markexpr = str(config.getoption("markexpr") or "")
    if "e2e" in markexpr and "not e2e" not in markexpr:
        return True
    here = Path(__file__).resolve().parent
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == here or here in path.parents:
            return True
    return False


@pytest.fixture(scope="session")
def e2e_tools(request: pytest.FixtureRequest) -> None:
    """Docker engine, kind and pytest-kind: skip naming whatever is missing."""
    missing = missing_requirements("", check_image=False)
    if missing:
        pytest.skip(summary(missing))
    if not opted_in(request.config):
        pytest.skip("Docker, kind and pytest-kind are here; the kind suite runs when asked for: "
                    "`shipyard e2e`, `pytest tests/e2e` or `-m e2e`")


@pytest.fixture(scope="session")
def e2e_settings(e2e_tools: None, request: pytest.FixtureRequest) -> Settings:
    config = request.config
    repo = Repository.load(REPO_ROOT)
    name = config.getoption("--e2e-cluster")
    try:
        cluster = repo.cluster(name)
        engine = choose_engine(cluster, config.getoption("--e2e-engine"))
        image = node_image_for(cluster.kubernetes_version, file=f"clusters/{name}/cluster.yaml")
    except ShipyardError as exc:
        pytest.fail(f"cannot run the kind suite for cluster {name!r}: {exc}", pytrace=False)
    return Settings(repo=repo, cluster=name, engine=engine, environment=cluster.environment, node_image=image,
                    logs=Path(config.getoption("--e2e-logs")).resolve(), kind_name=config.getoption("--e2e-kind-name"),
                    keep=bool(config.getoption("--keep-cluster")))


@pytest.fixture(scope="session")
def e2e_requirements(e2e_settings: Settings) -> None:
    """The node image, present or pulled now."""
    missing = check_node_image(e2e_settings.node_image)
    if missing:
        pytest.skip(summary(missing))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def e2e_cluster(e2e_requirements: None, e2e_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Kubectl]:
    """A kind cluster at the pinned node image; deleted afterwards unless
    --keep-cluster. Yields the pinned kubectl bound to it."""
    from pytest_kind import KindCluster  # imported here: the default suite runs without it

    e2e_settings.logs.mkdir(parents=True, exist_ok=True)
    kind_binary = find_kind()
    assert kind_binary is not None  # e2e_requirements checked it
    kubectl_binary = find_binaries().kubectl
    kubeconfig = e2e_settings.logs / "kubeconfig"
    # KindCluster keeps a working folder (.pytest-kind/) relative to the
    # current directory: create it under the logs folder, not in the repository.
    here = Path.cwd()
    os.chdir(e2e_settings.logs)
    try:
        cluster = KindCluster(e2e_settings.kind_name, kubeconfig=kubeconfig, image=e2e_settings.node_image,
                              kind_path=Path(kind_binary), kubectl_path=Path(kubectl_binary))
    finally:
        os.chdir(here)
    try:
        cluster.create()
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"kind create cluster {e2e_settings.kind_name} with {e2e_settings.node_image} failed "
                    f"(exit {exc.returncode}); see the output above", pytrace=False)
    kubectl = Kubectl(kubectl_binary, kubeconfig)
    try:
        kubectl.run("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=300s", timeout=330)
        yield kubectl
    finally:
        if request.session.testsfailed:
            dump_diagnostics(kubectl, e2e_settings.logs / "diagnostics", kind_binary=kind_binary,
                             cluster_name=e2e_settings.kind_name)
        if not e2e_settings.keep:
            cluster.delete()


@pytest.fixture(scope="session")
def artifact_probe() -> Probe:
    """Whether the kind cluster's storage initializer can fetch a modelUri (shipyard.e2e.artifacts)."""
    return rclone_probe()


@pytest.fixture(scope="session")
def not_deployed(deployed_with_skips: tuple[Plan, list[Unreachable]]) -> list[Unreachable]:
    return deployed_with_skips[1]


@pytest.fixture(scope="session")
def deployed_with_skips(e2e_cluster: Kubectl, e2e_settings: Settings,
                        artifact_probe: Probe) -> tuple[Plan, list[Unreachable]]:
    try:
        plan, gone = kind_plan(e2e_settings.repo, e2e_settings.cluster, e2e_settings.engine, artifact_probe,
                               e2e_settings.logs)
        install_plan(e2e_cluster, plan, e2e_settings.logs / "steps")
    except ShipyardError as exc:
        pytest.fail(f"installing clusters/{e2e_settings.cluster}/{e2e_settings.engine} failed: {exc}", pytrace=False)
    return plan, gone


@pytest.fixture(scope="session")
def deployed(deployed_with_skips: tuple[Plan, list[Unreachable]]) -> Plan:
    """The cluster's entry point installed in the computed order, without
    the models whose artifact the cluster cannot fetch (`not_deployed`)."""
    return deployed_with_skips[0]


@pytest.fixture()
def diagnostics_on_failure(request: pytest.FixtureRequest, e2e_cluster: Kubectl, e2e_settings: Settings) -> Iterator[None]:
    """After a failing test: events, resources and container logs, in a
    folder named after the test (CI uploads the logs folder)."""
    yield
    if request.node.stash.get(FAILED, False):
        dump_diagnostics(e2e_cluster, e2e_settings.logs / "diagnostics" / request.node.name)
