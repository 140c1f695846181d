"""SY301: every image is pinned to a version.

A floating tag (``:latest``, or no tag at all, which means latest) makes a
rendered manifest mean different things on different days: a node pulls a
new build on restart, rollbacks no longer roll back, and the diff of a pull
request no longer says what will run.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import all_pod_specs, as_dict, as_list, dig, graph_nodes, is_prepackaged, is_seldon_deployment
from shipyard.findings import Finding


def image_problem(image: str) -> str | None:
    """Why ``image`` is not pinned, or None when it is (a tag other than
    latest, or a digest)."""
    ref = image.strip()
    if "@" in ref:
        digest = ref.split("@", 1)[1]
        return None if digest.startswith("sha256:") and len(digest) > len("sha256:") else f"image {image!r} has a malformed digest"
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag, so it runs whatever :latest is at pull time"
    tag = last.split(":", 1)[1]
    if not tag:
        return f"image {image!r} has an empty tag"
    if tag == "latest":
        return f"image {image!r} uses the floating :latest tag"
    return None


@check("SY301")
def images_pinned(ctx: CheckContext) -> Iterable[Finding]:
    for target in ctx.targets:
        for pod in all_pod_specs(target.objects):
            prepack_names = _prepackaged_node_names(pod.predictor)
            for path, container in pod.containers():
                image = container.get("image")
                name = str(container.get("name", "?"))
                if not isinstance(image, str) or not image.strip():
                    # A prepackaged server's image comes from the operator's
                    # pinned defaults; elsewhere a missing image is a schema error.
                    if is_seldon_deployment(pod.obj) and name not in prepack_names and path[-2] == "containers":
                        yield Finding.on(
                            pod.obj, "SY301", f"container {name!r}{pod.where()} has no image", path=path,
                            hint="set image: to a pinned version, or make the graph node a prepackaged server",
                        )
                    continue
                problem = image_problem(image)
                if problem:
                    yield Finding.on(
                        pod.obj, "SY301", f"container {name!r}{pod.where()}: {problem}", path=(*path, "image"),
                        hint="pin a version tag (image:1.4.2) or a digest (image@sha256:...)",
                    )
        for obj in target.objects:
            if not is_seldon_deployment(obj):
                continue
            for p_index, predictor in enumerate(as_list(dig(obj.body, "spec", "predictors"))):
                explainer = as_dict(as_dict(predictor).get("explainer"))
                image = dig(explainer, "containerSpec", "image")
                if isinstance(image, str) and image.strip():
                    problem = image_problem(image)
                    if problem:
                        yield Finding.on(
                            obj, "SY301", f"explainer of predictor {as_dict(predictor).get('name', p_index)!r}: {problem}",
                            path=("spec", "predictors", p_index, "explainer", "containerSpec", "image"),
                            hint="pin a version tag or a digest",
                        )


def _prepackaged_node_names(predictor: dict[str, Any] | None) -> set[str]:
    if predictor is None:
        return set()
    return {
        node["name"]
        for _path, node in graph_nodes(predictor.get("graph"), ())
        if is_prepackaged(node.get("implementation")) and isinstance(node.get("name"), str)
    }
