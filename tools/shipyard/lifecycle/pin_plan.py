"""The plan of a change to one pin (promote, a canary, rollout, rollback):
the pin file's new text, and the check that its render serves exactly the
registered artifacts with the intended traffic and replicas."""

from __future__ import annotations

from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.files import read_exact
from shipyard.lifecycle.gpus import pin_gpu_patch
from shipyard.lifecycle.guards import pin_file, refuse
from shipyard.lifecycle.pin_edit import PinState, add_to_env_models, edit_pin_text, new_pin_text
from shipyard.lifecycle.plan import Plan, Rendered, Verify
from shipyard.models import rules
from shipyard.models.pins import Pin, pin_dir
from shipyard.models.rules import seldon_deployments
from shipyard.models.spec import Model
from shipyard.repo import Repository
from shipyard.shapes import as_dict, plain_name

def _pin_render_verify(model: Model, env: str, state: PinState) -> Verify:
    """After the edit, the rendered SeldonDeployment must serve exactly the
    registered artifacts with the intended traffic; anything else (a hand
    patch overriding modelUri, a base with two predictors) stops the change."""

    def verify(repo: Repository, rendered: Rendered) -> None:
        folder = pin_dir(repo, env, model.name)
        rel = repo.rel(folder)
        sds = [o for o in seldon_deployments(rendered.get(folder, [])) if (o.get("metadata") or {}).get("name") == model.name]
        if len(sds) != 1:
            raise ShipyardError(f"{rel} renders {len(sds)} SeldonDeployment(s) named {model.name}, expected 1",
                                file=rel, check="SY503")
        predictors = (sds[0].get("spec") or {}).get("predictors") or []
        expected = [(state.stable, 100 if not state.canary else 100 - int(state.canary_traffic or 0), state.replicas)]
        if state.canary:
            expected.append((state.canary, int(state.canary_traffic or 0), int(state.canary_replicas or 1)))
        if len(predictors) != len(expected):
            raise ShipyardError(f"{rel} renders {len(predictors)} predictor(s), expected {len(expected)}",
                                file=rel, hint=f"models/{model.name}/deploy must declare exactly one predictor",
                                check="SY503")
        for predictor, (version, traffic, replicas) in zip(predictors, expected):
            refuse(rules.rendered_uri(model, env, predictor, at=(rel, 1)))
            refuse(rules.rendered_replicas(model, env, predictor, at=(rel, 1)))
            refuse(rules.rendered_gpus(model, env, predictor, at=(rel, 1)))
            labelled = as_dict(predictor.get("labels")).get("version")
            if labelled != version:
                raise ShipyardError(f"{rel} renders {model.name} {labelled} in predictor {plain_name(predictor.get('name'))}, "
                                    f"expected {version}", file=rel,
                                    hint="another patch or component sets the predictor's version; remove it", check="SY503")
            if int(predictor.get("traffic", 100) or 0) != traffic or int(predictor.get("replicas", 1) or 0) != replicas:
                raise ShipyardError(
                    f"{rel} renders predictor {plain_name(predictor.get('name'))} with traffic {predictor.get('traffic')} and "
                    f"replicas {predictor.get('replicas')}, expected {traffic} and {replicas}",
                    file=rel, hint="another patch changes traffic or replicas; remove it", check="SY506")

    return verify


def pin_plan(repo: Repository, model: Model, env: str, current: Pin | None, state: PinState,
              *, action: str, title: str, branch: str, sections: list[str], noop: str) -> Plan:
    """The pin of ``model`` in ``env`` written for ``state``: its components,
    replicas and traffic, and the GPU patch generated from spec.serving.gpu
    and the environment's clusters (none where it serves on CPU), so every
    command that edits a pin keeps the GPUs current."""
    pin_path = pin_file(repo, env, model.name)
    gpu_patch = pin_gpu_patch(repo, model, env, state)
    files: dict[Path, str] = {}
    if current is None:
        files[pin_path] = new_pin_text(repo, env, model.name, state, gpu_patch)
        added = add_to_env_models(repo, env, model.name)
        if added:
            files[added[0]] = added[1]
    else:
        text = read_exact(pin_path)
        new = edit_pin_text(repo, env, model.name, text, state, gpu_patch)
        if new != text:
            files[pin_path] = new
    return Plan(action=action, model=model.name, environment=env, title=title, branch=branch, files=files,
                sections=sections, render=[pin_dir(repo, env, model.name)],
                verify=_pin_render_verify(model, env, state), noop=noop)
