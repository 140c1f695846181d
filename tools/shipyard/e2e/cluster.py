"""Drive a real cluster with kubectl: apply a plan step by step, wait until
each step is ready, port-forward to a service, collect diagnostics.

Everything goes through the pinned kubectl binary against one kubeconfig
(the kind cluster's), so what the suite does is what a person could replay
by hand from the step manifests it writes. Steps are applied with
server-side apply: CRDs such as Seldon's are larger than the annotation that
client-side apply would store.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from shipyard import ids
from shipyard.e2e.plan import Step, describe, step_manifest
from shipyard.errors import ShipyardError
from shipyard.objects import K8sObject

if TYPE_CHECKING:
    from shipyard.e2e.plan import Plan

FIELD_MANAGER = "shipyard-e2e"
# Errors that mean "not yet" rather than "wrong": a webhook whose server is
# still starting, a CRD the API server's discovery has not caught up with.
_TRANSIENT = re.compile(
    r"failed calling webhook|connection refused|no endpoints available|ensure CRDs are installed first|"
    r"no matches for kind|the server is currently unable to handle the request|i/o timeout|context deadline exceeded",
    re.IGNORECASE,
)
_WORKLOADS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}
SELDON_DEPLOYMENT = ("machinelearning.seldon.io", "SeldonDeployment")

Log = Callable[[str], None]


class E2EError(ShipyardError):
    """The cluster did not do what the plan asked (apply refused, not ready in time)."""


@dataclass
class Kubectl:
    """The pinned kubectl, bound to one cluster's kubeconfig."""

    binary: str
    kubeconfig: Path
    timeout: float = 120.0

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def run(self, *args: str, timeout: float | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [self.binary, *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise E2EError(f"kubectl {' '.join(args)} did not finish within {timeout or self.timeout:.0f}s", check=ids.E2E_FAILED) from None
        except OSError as exc:
            raise E2EError(f"cannot run {self.binary}: {exc}", hint="run `make setup`", check="SY901") from None
        if check and proc.returncode != 0:
            raise E2EError(f"kubectl {' '.join(args)} failed: {(proc.stderr or proc.stdout).strip()}", check=ids.E2E_FAILED)
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout or "null")


def apply_file(kubectl: Kubectl, file: Path, *, patience: float = 180.0, log: Log = print) -> None:
    """Server-side apply of one manifest file; transient refusals (webhook
    starting, discovery lagging) are retried until ``patience`` runs out."""
    deadline = time.monotonic() + patience
    delay = 2.0
    while True:
        proc = kubectl.run("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}",
                           "-f", str(file), timeout=300, check=False)
        if proc.returncode == 0:
            return
        message = (proc.stderr or proc.stdout).strip()
        if not _TRANSIENT.search(message) or time.monotonic() + delay > deadline:
            raise E2EError(f"kubectl apply of {file.name} was refused: {message}", file=str(file), check=ids.E2E_FAILED,
                           hint="the manifest applied is in that file; events and logs are in the diagnostics folder")
        log(f"  apply not accepted yet ({message.splitlines()[-1][:160]}); retrying in {delay:.0f}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 15.0)


def apply_step(kubectl: Kubectl, step: Step, number: int, workdir: Path, *, timeout: float = 600.0,
               log: Log = print) -> list[Path]:
    """Apply one plan step; wait until it is ready when the engine would
    (step.wait). CRDs go first and are always Established before the rest
    of the step is sent."""
    workdir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", step.name).strip("-").lower()[:80]
    written: list[Path] = []
    crds = [o for o in step.objects if o.kind == "CustomResourceDefinition"]
    rest = [o for o in step.objects if o.kind != "CustomResourceDefinition"]
    log(f"step {number}: {step.name} ({len(step.objects)} objects)")
    for part, objects in (("crds", crds), ("objects", rest)):
        if not objects:
            continue
        file = workdir / f"{number:02d}-{slug}-{part}.yaml"
        file.write_text(step_manifest(objects), encoding="utf-8")
        written.append(file)
        apply_file(kubectl, file, log=log)
        if part == "crds":
            wait_ready(kubectl, objects, timeout=timeout, log=log)
    if step.wait:
        wait_ready(kubectl, rest, timeout=timeout, log=log)
    return written


def wait_ready(kubectl: Kubectl, objects: list[K8sObject], *, timeout: float = 600.0, log: Log = print) -> None:
    """Block until every object that has a notion of ready is: CRDs
    Established, workloads rolled out, Jobs complete, SeldonDeployments Available."""
    for obj in objects:
        gk = (obj.group, obj.kind)
        ns = ["-n", obj.namespace] if obj.namespace else []
        seconds = f"--timeout={int(timeout)}s"
        if gk == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            args = ["wait", "--for=condition=Established", f"crd/{obj.name}", seconds]
        elif gk in _WORKLOADS:
            args = ["rollout", "status", f"{obj.kind.lower()}/{obj.name}", *ns, seconds]
        elif gk == ("batch", "Job"):
            args = ["wait", "--for=condition=Complete", f"job/{obj.name}", *ns, seconds]
        elif gk == SELDON_DEPLOYMENT:
            args = ["wait", "--for=jsonpath={.status.state}=Available", f"seldondeployment/{obj.name}", *ns, seconds]
        else:
            continue
        log(f"  waiting for {describe(obj)}")
        proc = kubectl.run(*args, timeout=timeout + 30, check=False)
        if proc.returncode != 0:
            raise E2EError(f"{describe(obj)} was not ready within {int(timeout)}s: {(proc.stderr or proc.stdout).strip()}",
                           file=obj.source.path, line=obj.source.line or None, check=ids.E2E_FAILED,
                           hint="events and pod logs are in the diagnostics folder")


def seldon_state(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    """The SeldonDeployment as the cluster sees it (spec and status)."""
    data = kubectl.json("get", "seldondeployment", name, "-n", namespace)
    return data if isinstance(data, dict) else {}


def predictor_service(sdep: dict[str, Any], predictor: str) -> tuple[str, int]:
    """The executor Service and REST port of one predictor, from the
    SeldonDeployment's status (the operator names them, not us)."""
    name = str((sdep.get("metadata") or {}).get("name", ""))
    wanted = f"{name}-{predictor}"
    services = ((sdep.get("status") or {}).get("serviceStatus") or {})
    for key, entry in services.items() if isinstance(services, dict) else []:
        if not isinstance(entry, dict):
            continue
        svc = str(entry.get("svcName") or key)
        endpoint = str(entry.get("httpEndpoint") or "")
        if svc == wanted and ":" in endpoint:
            return svc, int(endpoint.rsplit(":", 1)[1])
    raise E2EError(f"SeldonDeployment {name} reports no REST service for predictor {predictor!r} "
                   f"(status.serviceStatus: {sorted(services) if isinstance(services, dict) else services})",
                   check=ids.E2E_FAILED)


@contextmanager
def port_forward(kubectl: Kubectl, resource: str, remote_port: int, namespace: str, *,
                 timeout: float = 30.0) -> Iterator[int]:
    """`kubectl port-forward` to a free loopback port; yields the port once
    kubectl says it is forwarding, and stops the process afterwards."""
    cmd = [kubectl.binary, "port-forward", "--address", "127.0.0.1", "-n", namespace, resource, f":{remote_port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kubectl.env())
    try:
        port = _forwarded_port(proc, timeout)
        if port is None:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise E2EError(f"kubectl port-forward {resource} in {namespace} did not start: {err.strip() or 'no output'}",
                           check=ids.E2E_FAILED)
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _forwarded_port(proc: subprocess.Popen[str], timeout: float) -> int | None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        line = proc.stdout.readline()
        match = re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1))
    return None


# -- diagnostics --------------------------------------------------------------

_DIAGNOSTICS = {
    "events.txt": ["get", "events", "-A", "--sort-by=.lastTimestamp", "-o", "wide"],
    "resources.txt": ["get", "all", "-A", "-o", "wide"],
    "nodes.txt": ["describe", "nodes"],
    "pods-describe.txt": ["describe", "pods", "-A"],
    "seldondeployments.yaml": ["get", "seldondeployments", "-A", "-o", "yaml"],
}


def dump_diagnostics(kubectl: Kubectl, folder: Path, *, kind_binary: str | None = None,
                     cluster_name: str | None = None, log: Log = print) -> Path:
    """Write events, resources and every container's logs to ``folder``
    (what CI uploads when the suite fails). Never raises: a half-broken
    cluster is exactly when this runs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in _DIAGNOSTICS.items():
        _capture(kubectl, args, folder / name)
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    try:
        pods = kubectl.json("get", "pods", "-A").get("items", [])
    except (ShipyardError, ValueError, AttributeError):
        pods = []
    for pod in pods:
        meta = pod.get("metadata", {})
        spec = pod.get("spec", {})
        containers = [c.get("name") for c in spec.get("initContainers", []) + spec.get("containers", [])]
        for container in containers:
            base = f"{meta.get('namespace')}_{meta.get('name')}_{container}"
            _capture(kubectl, ["logs", "-n", meta.get("namespace", ""), meta.get("name", ""), "-c", container,
                               "--tail=2000"], logs / f"{base}.log")
            _capture(kubectl, ["logs", "-n", meta.get("namespace", ""), meta.get("name", ""), "-c", container,
                               "--previous", "--tail=2000"], logs / f"{base}.previous.log", keep_empty=False)
    if kind_binary and cluster_name:
        try:
            subprocess.run([kind_binary, "export", "logs", str(folder / "kind"), "--name", cluster_name],
                           capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            pass
    log(f"diagnostics written to {folder}")
    return folder


def _capture(kubectl: Kubectl, args: list[str], file: Path, *, keep_empty: bool = True) -> None:
    try:
        proc = kubectl.run(*args, timeout=120, check=False)
        text = proc.stdout if proc.returncode == 0 else f"$ kubectl {' '.join(args)}\n{proc.stderr}"
        if proc.returncode != 0 and not keep_empty:
            return
    except ShipyardError as exc:
        text = f"$ kubectl {' '.join(args)}\n{exc}"
    file.write_text(text, encoding="utf-8")


def install_plan(kubectl: Kubectl, plan: "Plan", workdir: Path, *, log: Log = print) -> None:
    """Apply every step of ``plan`` in order, each ready before the next."""
    for number, step in enumerate(plan.steps, 1):
        apply_step(kubectl, step, number, workdir, log=log)


def wait_for_predictors(kubectl: Kubectl, namespace: str, name: str, predictors: list[str], *,
                        timeout: float = 900.0, interval: float = 5.0) -> dict[str, Any]:
    """Wait until the operator reports every predictor of a changed
    SeldonDeployment (its service in status) and the whole thing Available,
    then until each of its Deployments has rolled out. A status left over
    from before the change does not count: the predictors must be listed."""
    deadline = time.monotonic() + timeout
    wanted = {f"{name}-{p}" for p in predictors}
    sdep: dict[str, Any] = {}
    while time.monotonic() < deadline:
        sdep = seldon_state(kubectl, namespace, name)
        status = sdep.get("status") or {}
        services = status.get("serviceStatus") or {}
        listed = {str(v.get("svcName") or k) for k, v in services.items() if isinstance(v, dict)} if isinstance(services, dict) else set()
        if status.get("state") == "Available" and wanted <= listed:
            break
        time.sleep(interval)
    else:
        raise E2EError(f"SeldonDeployment {namespace}/{name} did not become Available with predictors "
                       f"{sorted(predictors)} within {int(timeout)}s (status: {json.dumps(sdep.get('status'))[:400]})",
                       check=ids.E2E_FAILED, hint="events and pod logs are in the diagnostics folder")
    deployments = kubectl.run("get", "deployments", "-n", namespace, "-l", f"seldon-deployment-id={name}",
                              "-o", "name").stdout.split()
    for deployment in deployments:
        kubectl.run("rollout", "status", deployment, "-n", namespace, f"--timeout={int(timeout)}s", timeout=timeout + 30)
    return sdep
