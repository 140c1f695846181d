"""SY305: no plaintext Secret in git.

A Secret's ``data`` is base64, an encoding anyone can reverse; committed,
it is readable by everyone with clone access, forever (history keeps it).
Credentials reach a GitOps cluster encrypted (SOPS, decrypted by Flux or an
Argo CD plugin), sealed (SealedSecret) or by reference (ExternalSecret).

Where an object came from decides: a Secret that a Helm chart generates at
render time (the seldon-core-operator chart renders its webhook certificate
as one) was never in git, so objects whose source is a chart template are
not judged. A Secret from a remote kustomize base *is* in git, upstream's,
and is applied as written: those are reported.
"""

from __future__ import annotations

from typing import Any, Iterable

from shipyard.checks import check
from shipyard.checks.context import CheckContext
from shipyard.checks.policies import as_dict, source_kind
from shipyard.findings import Finding
from shipyard.objects import K8sObject


def _encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ENC[") and value.endswith("]")


def plaintext_keys(obj: K8sObject) -> list[tuple[str, str]]:
    """(section, key) of every value in the Secret that is not encrypted."""
    body = obj.body
    sops = isinstance(body.get("sops"), dict)
    found = []
    for section in ("data", "stringData"):
        for key, value in as_dict(body.get(section)).items():
            if sops and _encrypted(value):
                continue
            found.append((section, str(key)))
    return found


@check("SY305")
def plaintext_secrets(ctx: CheckContext) -> Iterable[Finding]:
    for _target, obj in ctx.objects():
        if obj.kind != "Secret" or obj.api_version != "v1":
            continue
        origin = source_kind(obj)
        if origin == "chart":
            continue
        keys = plaintext_keys(obj)
        if not keys:
            continue
        sections = sorted({s for s, _ in keys})
        names = ", ".join(k for _, k in keys[:6]) + (", ..." if len(keys) > 6 else "")
        if isinstance(obj.body.get("sops"), dict):
            message = f"Secret has a sops block but these values are not encrypted: {names}"
        elif origin == "remote":
            message = f"Secret from a remote base carries plaintext values ({names}) that are applied as written"
        else:
            message = f"Secret holds plaintext values in git ({names})"
        yield Finding.on(
            obj, "SY305", message, path=(sections[0], keys[0][1]),
            hint="encrypt it with SOPS, or use a SealedSecret or ExternalSecret"
            + (" and patch the upstream Secret out" if origin == "remote" else "")
            + "; rotate anything that was pushed",
        )
