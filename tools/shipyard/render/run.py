"""Run a rendering subprocess with a time limit and a clear error on failure."""

from __future__ import annotations

import os
import subprocess
import threading
import time

from shipyard.errors import RenderError

DEFAULT_TIMEOUT = 300.0


class ToolClock:
    """Total wall time spent inside kustomize and helm, so benchmarks can
    tell the binaries' share of a run from the toolkit's own."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds
            self.calls += 1

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self.calls = 0


TOOL_CLOCK = ToolClock()


def run_tool(
    cmd: list[str],
    *,
    what: str,
    file: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    hint: str | None = None,
) -> str:
    """Run ``cmd`` and return its stdout; raise RenderError naming ``what``
    and the tool's own message when it fails or runs past ``timeout``."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what}: timed out after {timeout:.0f}s", file=file, hint=hint, check="SY903") from None
    except OSError as exc:
        raise RenderError(f"{what}: cannot run {cmd[0]}: {exc}", file=file, hint=hint, check="SY901") from None
    finally:
        TOOL_CLOCK.add(time.perf_counter() - started)
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        if len(message) > 2000:
            message = message[:2000] + " ..."
        raise RenderError(f"{what} failed: {message}", file=file, hint=hint, check="SY903")
    return proc.stdout
