"""Run a rendering subprocess with a time limit, a memory limit and a clear
error on failure.

Every call has a time limit: a binary that hangs (a git fetch waiting on a
dead network, a wrapper script stuck on a prompt) ends the command with an
error instead of holding CI forever. ``SHIPYARD_TOOL_TIMEOUT`` (seconds)
replaces the per-call limits, for slow machines or for tests. The tool runs
in its own process group, so on timeout its children (kustomize's git, a
script's sleep) are killed with it rather than left running.

Every call has a memory limit too (``SHIPYARD_TOOL_MEMORY_MB``, 4 GiB by
default): kustomize and helm parse YAML without bounds of their own, and
one input they expand without end would otherwise take the machine's memory
before the time limit comes. The limit is the tool's address space
(RLIMIT_AS), set on Linux; its children inherit it.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

from pathlib import Path

from shipyard.errors import RenderError, ShipyardError

DEFAULT_TIMEOUT = 300.0
TIMEOUT_ENV = "SHIPYARD_TOOL_TIMEOUT"
DEFAULT_MEMORY_MB = 4096
MEMORY_ENV = "SHIPYARD_TOOL_MEMORY_MB"

_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "memoryerror", "bad_alloc")
"""What a tool prints when an allocation fails (Go: "fatal error: runtime:
out of memory"; C: ENOMEM; Python; C++)."""


class ToolClock:
    """Total wall time spent inside kustomize and helm, so benchmarks can
    tell the binaries' share of a run from the toolkit's own."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.log: list[tuple[str, float]] = []
        """(identity, seconds) of every call: benchmarks count the renders
        a run starts and tell distinct ones from repeats (``identity``)."""
        self._lock = threading.Lock()

    def add(self, seconds: float, what: str = "") -> None:
        with self._lock:
            self.seconds += seconds
            self.calls += 1
            self.log.append((what, seconds))

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self.calls = 0
            self.log = []


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


def tool_memory_mb() -> int:
    """The memory limit of one tool call in MiB: ``SHIPYARD_TOOL_MEMORY_MB``
    when set, else 4096. A value that is not a positive whole number is an
    error, like a bad time limit: a typo must not mean no limit."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if not raw:
        return DEFAULT_MEMORY_MB
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise ShipyardError(
            f"{MEMORY_ENV}={raw!r} is not a positive whole number of MiB",
            hint=f"set {MEMORY_ENV} to a number such as 8192, or unset it for the default ({DEFAULT_MEMORY_MB})",
            check="SY900",
        )
    return int(value)


def _limit_memory(pid: int, megabytes: int) -> None:
    """Cap the address space of the process ``pid`` (and so of everything
    it starts) at ``megabytes``. Set from outside, after the start: unlike a
    ``preexec_fn``, that is safe while other threads run (renders run in a
    thread pool). Popen returns once the tool has been executed, before it
    has read any input. Linux only: elsewhere ``prlimit`` does not exist
    (and macOS does not enforce RLIMIT_AS)."""
    if not sys.platform.startswith("linux"):
        return
    import resource

    limit = megabytes * 2**20
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
    except (ProcessLookupError, PermissionError):
        pass  # it ended already
    except ValueError:  # a hard limit lower than this one is already set: keep it
        pass


def ran_out_of_memory(proc: subprocess.CompletedProcess[str]) -> bool:
    """Whether a failed tool says an allocation failed."""
    said = (proc.stderr[-4000:] + proc.stdout[-1000:]).lower()
    return proc.returncode != 0 and any(words in said for words in _OUT_OF_MEMORY)


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
                cwd: str | None = None, memory_mb: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in a process group of its own, output captured, stdin
    closed (a tool waiting for input fails instead of hanging), its memory
    capped at ``memory_mb`` (default: ``tool_memory_mb()``). Past
    ``timeout`` seconds the whole group is killed and TimeoutExpired raised.
    OSError (not found, not executable) passes through."""
    megabytes = tool_memory_mb() if memory_mb is None else memory_mb
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace",  # a tool printing bytes that are not UTF-8 is reported, not a crash
        env=env, cwd=cwd, start_new_session=True,
    )
    _limit_memory(proc.pid, megabytes)
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


def identity(cmd: list[str], what: str) -> str:
    """What makes a tool call the same render as another: its description
    and arguments, with each temporary file (helm's values) replaced by a
    digest of its content and temporary folders (kustomize's wrapper, named
    by ``what``) left out."""
    import hashlib
    import tempfile

    scratch = tempfile.gettempdir()
    parts = [what]
    for arg in cmd[1:]:
        if arg.startswith(scratch):
            try:
                parts.append(hashlib.sha256(Path(arg).read_bytes()).hexdigest()[:16])
            except OSError:
                continue
        else:
            parts.append(arg)
    return " ".join(parts)


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
    memory = tool_memory_mb()
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.perf_counter()
    try:
        proc = run_process(cmd, timeout=limit, env=full_env, cwd=cwd, memory_mb=memory)
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
        TOOL_CLOCK.add(time.perf_counter() - started, identity(cmd, what))
    if ran_out_of_memory(proc):
        source = f"the limit set by {MEMORY_ENV}" if os.environ.get(MEMORY_ENV, "").strip() else \
            f"the default limit; {MEMORY_ENV} sets it"
        raise RenderError(
            f"{what}: {Path(cmd[0]).name} ran out of memory at its limit of {memory:,} MiB ({source}); it was stopped",
            file=file, line=line, check="SY903",
            hint="an input that expands without end (YAML aliases, a huge generated file) is the usual cause; "
            f"if the render is just large, raise {MEMORY_ENV}",
        )
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}"
        if len(message) > 2000:
            message = message[:2000] + " ..."
        raise RenderError(f"{what} failed: {message}", file=file, line=line, hint=hint, check="SY903")
    return proc.stdout
