"""Start MLServer 1.3.5 the way seldonio/mlserver:1.3.5-* does, after checking the artifact.

Runs inside .venv-mlserver. The image's command is `mlserver start
$MLSERVER_MODELS_DIR` (/mnt/models, where the storage initializer put the
modelUri), with the model's settings in MLSERVER_MODEL_* variables written
by seldon-core's operator; shipyard.serving.mlserver sets the same
variables, with the version's folder in place of /mnt/models and
MLSERVER_HOST=127.0.0.1 so nothing listens beyond loopback.

One thing is added before MLServer starts: the artifact file the runtime
will load must have the registered sha256 (with --folder-digest, for
MLFLOW_SERVER: the folder digest of every file, the definition in
shipyard/serving/folder_digest.py, repeated here because this runs in a
side environment without the toolkit), so the server itself refuses a
file that changed after `shipyard serve` checked it. A mismatch, a missing
file, or an exception from MLServer's own start-up is printed as one line
(`error: cannot serve the model: ...`) and exits 3, with no traceback.

Usage: python mlserver_launch.py FOLDER [--artifact NAME --sha256 HEX [--folder-digest]]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

from parent_watch import watch_parent  # type: ignore[import-not-found]

EXIT_MODEL_LOAD = 3


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: str) -> str:
    """sha256 of the sha256sum lines of every regular file, paths relative
    and sorted by their UTF-8 bytes (shipyard/serving/folder_digest.py)."""
    entries = []
    for base, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            if os.path.isfile(path) and not os.path.islink(path):
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                entries.append((rel.encode("utf-8"), f"{sha256_of(path)}  {rel}\n"))
    lines = "".join(line for _key, line in sorted(entries))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def refuse(message: str) -> int:
    print(f"error: cannot serve the model: {message}", file=sys.stderr, flush=True)
    return EXIT_MODEL_LOAD


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlserver_launch.py")
    parser.add_argument("folder", help="the model repository folder (the image's /mnt/models)")
    parser.add_argument("--artifact", default="", help="the file of FOLDER the runtime loads")
    parser.add_argument("--sha256", default="", help="its registered sha256 (empty: not checked)")
    parser.add_argument("--folder-digest", action="store_true",
                        help="the registered sha256 is the folder digest of FOLDER, not ARTIFACT's")
    args = parser.parse_args(argv)
    watch_parent()

    if not os.path.isdir(args.folder):
        return refuse(f"{args.folder}: model folder does not exist")
    if args.artifact:
        path = os.path.join(args.folder, args.artifact)
        if not os.path.isfile(path):
            return refuse(f"{path}: missing")
        if args.sha256:
            actual = folder_sha256(args.folder) if args.folder_digest else sha256_of(path)
            subject = f"the folder {args.folder} (every file)" if args.folder_digest else path
            if actual != args.sha256.lower():
                return refuse(f"{subject}: sha256 is {actual} but {args.sha256} is registered; "
                              "refusing to serve a different artifact")

    from mlserver.cli.main import main as mlserver_main  # type: ignore[import-not-found]

    sys.argv = ["mlserver", "start", args.folder]
    try:
        mlserver_main()
    except SystemExit:
        raise
    except Exception as exc:  # MLServer's start-up raises many types; the log has the traceback's cause
        return refuse(f"MLServer failed to start ({type(exc).__name__}: {exc})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
