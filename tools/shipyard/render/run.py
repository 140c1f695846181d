"""Run a rendering subprocess with a time limit and a clear error on failure.

Every call has a limit: a binary that hangs (a git fetch waiting on a dead
network, a wrapper script stuck on a prompt) ends the command with an error
instead of holding CI forever. ``SHIPYARD_TOOL_TIMEOUT`` (seconds) replaces
the per-call limits, for slow machines or for tests. The tool runs in its own
process group, so on timeout its children (kustomize's git, a script's
sleep) are killed with it rather than left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from shipyard.errors import RenderError, ShipyardError

DEFAULT_TIMEOUT = 300.0
TIMEOUT_ENV = "SHIPYARD_TOOL_TIMEOUT"


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


def tool_timeout(default: float) -> float:
    """The time limit for one tool call: ``SHIPYARD_TOOL_TIMEOUT`` when set,
    else ``default``. A value that is not a positive number is an error, not
    a silent fallback: a typo there would otherwise mean no limit at all."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ShipyardError(
            f"{TIMEOUT_ENV}={raw!r} is not a positive number of seconds",
            hint=f"set {TIMEOUT_ENV} to a number such as 600, or unset it for the defaults",
            check="SY900",
        )
    return value


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the tool and everything it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _drain(proc: subprocess.Popen[str]) -> None:
    """Reap a killed tool. A descendant that left the process group may
    still hold the output pipes open: wait briefly, then let go of them."""
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()


def run_process(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None,
                cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in a process group of its own, output captured, stdin
    closed (a tool waiting for input fails instead of hanging). Past
    ``timeout`` seconds the whole group is killed and TimeoutExpired raised.
    OSError (not found, not executable) passes through."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace",  # a tool printing bytes that are not UTF-8 is reported, not a crash
        env=env, cwd=cwd, start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _drain(proc)
        raise
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def run_tool(
    cmd: list[str],
    *,
    what: str,
    file: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    hint: str | None = None,
    line: int | None = None,
) -> str:
    """Run ``cmd`` and return its stdout; raise RenderError naming ``what``
    (and ``file``/``line`` when given) and the tool's own message when it
    fails or runs past its time limit."""
    limit = tool_timeout(timeout)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.perf_counter()
    try:
        proc = run_process(cmd, timeout=limit, env=full_env, cwd=cwd)
    except OSError as exc:
        raise RenderError(
            f"{what}: cannot run {cmd[0]}: {exc.strerror or exc}", file=file, line=line, hint=hint, check="SY901"
        ) from None
    except subprocess.TimeoutExpired:
        source = f" (the limit set by {TIMEOUT_ENV})" if os.environ.get(TIMEOUT_ENV, "").strip() else ""
        raise RenderError(
            f"{what}: timed out after {limit:g}s{source}; the process was stopped",
            file=file, line=line, check="SY903",
            hint=hint or f"check the network or the mirror; on a slow machine raise {TIMEOUT_ENV} (seconds)",
        ) from None
    finally:
        TOOL_CLOCK.add(time.perf_counter() - started)
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        if len(message) > 2000:
            message = message[:2000] + " ..."
        raise RenderError(f"{what} failed: {message}", file=file, line=line, hint=hint, check="SY903")
    return proc.stdout
