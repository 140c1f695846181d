"""Pinned versions for the kind cluster: the kind binary and its node images.

kind's node images are built for a kind release and are only supported with
it, so both are pinned together, the images by digest. The GitHub workflow
installs the same kind version and checksum (tests/unit/test_workflows.py
checks they agree). Add a node image here when a cluster moves to a new
Kubernetes minor version; the values come from the kind release notes.
"""

from __future__ import annotations

from shipyard.errors import ShipyardError

KIND_VERSION = "v0.31.0"
# sha256 of the release assets kind-linux-<arch> of KIND_VERSION.
KIND_SHA256 = {
    "amd64": "eb244cbafcc157dff60cf68693c14c9a75c4e6e6fedaf9cd71c58117cb93e3fa",
    "arm64": "8e1014e87c34901cc422a1445866835d1e666f2a61301c27e722bdeab5a1f7e4",
}
# Kubernetes minor version -> node image built for KIND_VERSION, by digest.
NODE_IMAGES = {
    "1.33": "kindest/node:v1.33.7@sha256:d26ef333bdb2cbe9862a0f7c3803ecc7b4303d8cea8e814b481b09949d353040",
    "1.34": "kindest/node:v1.34.3@sha256:08497ee19eace7b4b5348db5c6a1591d7752b164530a36f855cb0f2bdcbadd48",
    "1.35": "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
}


def node_image_for(kube_version: str, *, file: str | None = None) -> str:
    """The pinned node image for a cluster's Kubernetes version ('1.33.0' or '1.33')."""
    parts = kube_version.strip().lstrip("v").split(".")
    minor = ".".join(parts[:2])
    image = NODE_IMAGES.get(minor)
    if image is None:
        raise ShipyardError(
            f"no kind node image is pinned for Kubernetes {minor}",
            file=file,
            hint=f"pinned: {', '.join(sorted(NODE_IMAGES))}; set kubernetesVersion to one of them, "
            "or add the image kind " + KIND_VERSION + " publishes for it to shipyard/e2e/pins.py",
            check="SY901",
        )
    return image

# The pytest plugin that creates and deletes the kind cluster.
PYTEST_KIND_REQUIREMENT = "pytest-kind==22.11.1"
