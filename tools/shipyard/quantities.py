"""Kubernetes resource quantities, and the one count of the GPUs a pod holds.

`status`, the GPU policies (SY303/SY304), the model rules (SY507) and
`promote`'s capacity check all count GPUs with `pod_spec_gpus`, so they can
never disagree about a pod; `GpuDemand` is that count times the replicas
that may run (an autoscaler's maximum), what a cluster's capacity must hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from shipyard.shapes import as_dict, as_list

GPU_RESOURCE = "nvidia.com/gpu"

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18), "Ki": Fraction(2**10), "Mi": Fraction(2**20),
    "Gi": Fraction(2**30), "Ti": Fraction(2**40), "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}


def parse_quantity(value: Any) -> Fraction | None:
    """A Kubernetes resource quantity ('100m', '1.5Gi', 2) as an exact
    number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value).limit_denominator(10**9)
    if not isinstance(value, str):
        return None
    return _parse_text(value)


@lru_cache(maxsize=4096)
def _parse_text(value: str) -> Fraction | None:
    """A quantity written as text. Cached: the same few strings ('100m',
    '256Mi') are parsed for every container of every object, and a Fraction
    is immutable."""
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, suffix = match.groups()
    if "e" in number.lower() and suffix is not None:
        return None
    return Fraction(number) * _SUFFIX[suffix]


def gpu_count(container: dict[str, Any]) -> int:
    """GPUs a container asks for. Extended resources are requested through
    limits (a request, if written, must equal the limit)."""
    resources = as_dict(container.get("resources"))
    for section in ("limits", "requests"):
        value = parse_quantity(as_dict(resources.get(section)).get(GPU_RESOURCE))
        if value is not None:
            return max(0, int(value))
    return 0


def pod_spec_gpus(spec: dict[str, Any]) -> int:
    """GPUs one pod (a PodSpec) holds: the sum over its containers, or the
    largest init container if that is more (init containers run one at a time)."""
    main = sum(gpu_count(c) for c in as_list(spec.get("containers")) if isinstance(c, dict))
    init = max((gpu_count(c) for c in as_list(spec.get("initContainers")) if isinstance(c, dict)), default=0)
    return max(main, init)


@dataclass(frozen=True)
class GpuDemand:
    """What one pod template asks of a cluster's GPUs: ``gpus`` per pod
    (`pod_spec_gpus`) times ``replicas``, the most copies that may run (an
    autoscaler's maximum, not its minimum: capacity must hold the peak)."""

    what: str  # the object and pod, in words: "SeldonDeployment models/resnet (predictor 'default' ...)"
    gpus: int
    replicas: int

    @property
    def total(self) -> int:
        return self.gpus * self.replicas

    def describe(self) -> str:
        return f"{self.what}: {self.gpus} x {self.replicas}"
