"""rclone, run the way seldon-core 1.17.1's storage initializer runs it.

The initializer (seldonio/rclone-storage-initializer:1.17.1, an init
container of every predictor pod) is ``rclone copy <modelUri> /mnt/models``
with no rclone.conf: remotes are configured only by environment variables
``RCLONE_CONFIG_<REMOTE>_<OPTION>``. The scheme of ``s3://bucket/path``
names the remote ``s3`` (rclone drops the leading slashes), ``gs://`` the
remote ``gs``. The image itself sets ``RCLONE_CONFIG_GS_TYPE=google cloud
storage`` and ``RCLONE_CONFIG_GS_ANONYMOUS=true``; everything else comes
from the Secret the SeldonDeployment names in ``envSecretRefName``.

So `shipyard serve` and `shipyard publish` use the same URIs and the same
variables, with rclone from .venv-rclone (tools/envs/rclone.txt). What the
environment sets for a remote wins, key by key; what it leaves out is filled
in so the usual workstation setup works without writing any RCLONE_ variable:

- s3: type s3, ``env_auth`` (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
  AWS_SESSION_TOKEN, AWS_PROFILE, an instance role), the endpoint from
  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or modelStore.endpoint, the region
  from AWS_REGION, AWS_DEFAULT_REGION or modelStore.region, and
  ``no_check_bucket`` (a missing bucket is an error, never created);
- gs, reading: what the initializer image sets (anonymous);
- gs, writing: ``env_auth`` (Application Default Credentials) and
  ``bucket_policy_only`` (uniform bucket-level access).

No rclone.conf is read (``--config ""``), as in the image, so a remote in a
person's own config cannot make a laptop and a cluster disagree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from shipyard import envs, ids
from shipyard.errors import ShipyardError
from shipyard.repo import ModelStoreSettings

ENV_NAME = "rclone"
DIRECTORY_NOT_FOUND = 3  # rclone's exit code for a source folder that does not exist
_LOG_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?P<level>[A-Z]+)\s*: (?P<text>.*)$")
_RETRY_DEFAULTS = {"RCLONE_RETRIES": "1", "RCLONE_LOW_LEVEL_RETRIES": "3"}
"""A wrong endpoint or key fails in seconds instead of rclone's default
three whole retries; the environment may set its own."""


def remote_environment(scheme: str, store: ModelStoreSettings | None, *, writing: bool,
                       environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment rclone runs with for remote ``scheme`` ("s3" or "gs"):
    ``environ`` (default: this process's), plus the defaults it does not set."""
    env = dict(os.environ if environ is None else environ)
    prefix = f"RCLONE_CONFIG_{scheme.upper()}_"
    defaults: dict[str, str] = {}
    if scheme == "s3":
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or (store.endpoint if store else None)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or (store.region if store else None)
        custom = endpoint or env.get("RCLONE_CONFIG_S3_ENDPOINT")
        defaults = {"TYPE": "s3", "PROVIDER": "Other" if custom else "AWS", "ENV_AUTH": "true",
                    "NO_CHECK_BUCKET": "true"}
        if endpoint:
            defaults["ENDPOINT"] = endpoint
        if region:
            defaults["REGION"] = region
    elif scheme == "gs":
        defaults = {"TYPE": "google cloud storage"}
        defaults.update({"ENV_AUTH": "true", "BUCKET_POLICY_ONLY": "true"} if writing else {"ANONYMOUS": "true"})
    for key, value in defaults.items():
        env.setdefault(prefix + key, value)
    for key, value in _RETRY_DEFAULTS.items():
        env.setdefault(key, value)
    return env


@dataclass(frozen=True)
class StoreObject:
    """One object under a listed prefix: its path below the prefix, and its size."""

    path: str
    size: int


@dataclass(frozen=True)
class Rclone:
    """The rclone binary and the environment that configures its remotes."""

    binary: Path
    env: dict[str, str]
    scheme: str

    def describe(self) -> str:
        """Where the remote points, for messages: the endpoint, never a credential."""
        if self.scheme == "s3":
            return f"the s3 remote at {self.env.get('RCLONE_CONFIG_S3_ENDPOINT') or 'AWS'}"
        anonymous = self.env.get("RCLONE_CONFIG_GS_ANONYMOUS", "").lower() == "true"
        return "the gs remote" + (" (anonymous)" if anonymous else "")

    def run(self, args: list[str], what: str, *, missing_ok: bool = False) -> subprocess.CompletedProcess[str]:
        """Run rclone; a failure is an error that quotes rclone's own reason.
        With ``missing_ok``, a source folder that does not exist is an
        answer (exit code DIRECTORY_NOT_FOUND), not a failure."""
        command = [str(self.binary), "--config", "", *args]
        try:
            done = subprocess.run(command, env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        except OSError as exc:
            raise ShipyardError(f"cannot run rclone ({self.binary}): {exc.strerror}", check="SY901",
                                hint=f"remove .venv-{ENV_NAME} so it is built again on next use") from None
        if done.returncode != 0 and not (missing_ok and done.returncode == DIRECTORY_NOT_FOUND):
            reason = failure_reason(done.stderr) or f"rclone exited with code {done.returncode}"
            raise ShipyardError(f"cannot {what}: {reason}", hint=self._hint(reason), check=ids.ARTIFACT_UNUSABLE)
        return done

    def _hint(self, reason: str) -> str:
        where = self.describe()
        remote = self.scheme.upper()
        if re.search(r"NoCredentialProviders|failed to refresh cached credentials|no EC2 IMDS role", reason):
            return ("found no credentials for the s3 remote: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                    "AWS_PROFILE, or RCLONE_CONFIG_S3_ACCESS_KEY_ID and RCLONE_CONFIG_S3_SECRET_ACCESS_KEY; docs/registry.md)")
        if re.search(r"SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|Forbidden|StatusCode: 40[13]", reason):
            credentials = ("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or RCLONE_CONFIG_S3_ACCESS_KEY_ID and "
                           "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY") if self.scheme == "s3" else \
                "RCLONE_CONFIG_GS_SERVICE_ACCOUNT_FILE (and RCLONE_CONFIG_GS_ANONYMOUS=false), or Application Default Credentials"
            return f"{where} refused the credentials: set {credentials} (docs/registry.md)"
        if re.search(r"NoSuchBucket|bucket does not exist|directory not found", reason):
            return f"the bucket does not exist at {where}: create it, or fix the store URI"
        if re.search(r"connection refused|no such host|dial tcp|i/o timeout|TLS handshake", reason):
            return (f"cannot reach {where}: check AWS_ENDPOINT_URL (or RCLONE_CONFIG_{remote}_ENDPOINT, or "
                    "modelStore.endpoint in shipyard.yaml) and the network")
        return f"rclone talked to {where}; run with RCLONE_VERBOSE=2 for the whole exchange"

    def list_files(self, uri: str) -> list[StoreObject]:
        """Every object under ``uri`` (a folder), recursively; [] when there is none."""
        done = self.run(["lsjson", "--recursive", "--files-only", "--no-mimetype", "--no-modtime", uri],
                        f"list {uri}", missing_ok=True)
        if done.returncode == DIRECTORY_NOT_FOUND:
            return []
        try:
            entries = json.loads(done.stdout or "[]")
        except ValueError:
            raise ShipyardError(f"cannot list {uri}: rclone printed something that is not JSON",
                                hint=self._hint(""), check=ids.ARTIFACT_UNUSABLE) from None
        return [StoreObject(str(e["Path"]), int(e["Size"])) for e in entries if isinstance(e, dict) and "Path" in e]

    def upload(self, source: Path, uri: str) -> None:
        """Copy one local file to the object ``uri``."""
        self.run(["copyto", str(source), uri], f"upload {source} to {uri}")

    def download_file(self, uri: str, target: Path) -> None:
        """Copy the object ``uri`` to the local file ``target``."""
        self.run(["copyto", uri, str(target)], f"download {uri}")

    def download_folder(self, uri: str, folder: Path) -> None:
        """``rclone copy <uri> <folder>``: what the storage initializer runs."""
        done = self.run(["copy", uri, str(folder)], f"download {uri}", missing_ok=True)
        if done.returncode == DIRECTORY_NOT_FOUND:
            raise ShipyardError(f"cannot download {uri}: it does not exist", hint=self._hint("directory not found"),
                                check=ids.ARTIFACT_UNUSABLE)


def failure_reason(stderr: str) -> str:
    """rclone's own one-line reason from its log: the last ERROR, else the
    last NOTICE that says something failed, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    parsed = [(m.group("level"), m.group("text")) for m in map(_LOG_LINE.match, lines) if m]
    errors = [text for level, text in parsed if level in ("ERROR", "CRITICAL")]
    failed = [text for level, text in parsed if level == "NOTICE" and text.startswith("Failed to")]
    chosen = errors[-1] if errors else failed[-1] if failed else lines[-1] if lines else ""
    return re.sub(r"RequestID: [^,]*, HostID: [^,]*, ", "", chosen)


def rclone_for(uri: str, store: ModelStoreSettings | None, *, writing: bool,
               log: Callable[[str], None] | None = None, environ: Mapping[str, str] | None = None,
               env_root: Path | None = None) -> Rclone:
    """An Rclone for the remote ``uri`` is on, with .venv-rclone built if needed."""
    scheme = uri.split("://", 1)[0].lower()
    env = envs.ensure(ENV_NAME, env_root or envs.toolkit_root(), log=log).env
    return Rclone(env.bin("rclone"), remote_environment(scheme, store, writing=writing, environ=environ), scheme)
