"""Where the service lives, and starting, stopping and asking it from another process.

The runtime directory is private (0700, ours): otherwise a planted socket could
hand us any PDF. A lock file held by the running service tells "running but
not answering" from "gone".
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from resumec.errors import ConvertError, ResumecError, UsageError
from resumec.service.protocol import INFO_NAME, LOCK_NAME, LOG_NAME, SOCKET_NAME, Closed, Status, Stop, connect, header_of, recv, send
from resumec.settings import Settings, private_dir


def socket_path(settings: Settings) -> Path:
    return settings.runtime_dir / SOCKET_NAME


is_private = private_dir


def make_private_dir(directory: Path) -> Path:
    """Create the runtime dir 0700 (parents too, if missing) and insist it is private."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{directory}: cannot create the runtime directory: {exc.strerror or exc}") from None
    if not is_private(directory):
        raise UsageError(
            f"{directory}: the runtime directory must belong to you and be private (chmod 700); "
            "set RESUMEC_RUNTIME_DIR to use another"
        )
    return directory


def request(op: Status | Stop, settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """One status/stop round trip, or None when no service answers."""
    path = socket_path(settings)
    if not is_private(path.parent):
        return None
    try:
        with connect(path, timeout=min(timeout, 1.0)) as sock:
            sock.settimeout(timeout)
            send(sock, header_of(op))
            reply, _ = recv(sock)
    except (OSError, Closed):
        return None
    return reply if reply.get("ok") else None


def status(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    return request(Status(), settings, timeout=timeout)


def _lock_held(directory: Path) -> bool:
    """True while a service process holds the runtime dir's lock (running, maybe not answering)."""
    import fcntl

    try:
        with open(directory / LOCK_NAME, "rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            return False
    except OSError:
        return False


def _info_pid(directory: Path) -> int | None:
    try:
        pid = json.loads((directory / INFO_NAME).read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: its parent (maybe init in a container) just has not reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def start(settings: Settings, *, idle_timeout: float, wait: float = 120.0) -> dict[str, Any]:
    """Start the service in the background and wait until LibreOffice is ready; returns its status.

    Returns the running service's status (with "already": True) if there is one.
    """
    import subprocess

    current = status(settings)
    if current is not None:
        return {**current, "already": True}
    directory = make_private_dir(settings.runtime_dir)
    child_env = dict(settings.env)
    child_env["RESUMEC_RUNTIME_DIR"] = str(directory)  # the child must not re-derive it differently
    child_env.pop("PYTHONDONTWRITEBYTECODE", None)
    log_path = directory / LOG_NAME
    with open(log_path, "ab") as log_file:
        os.chmod(log_path, 0o600)
        log_file.write(f"--- starting ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
        log_file.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "resumec", "server", "start", "--foreground", "--idle-timeout", repr(idle_timeout)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=child_env,
            cwd="/",
            start_new_session=True,  # no terminal: Ctrl-C in this shell and its hang-up don't reach it
            close_fds=True,
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = proc.poll()
        current = status(settings)
        if current is not None and current.get("ready"):
            proc.returncode = 0  # it lives on without us; don't warn that we never waited for it
            return current
        if code is not None and not (code == UsageError.exit_code and _lock_held(directory)):
            raise _start_failed(log_path, code)  # (exit 2 with the lock held: another start won the race)
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise ConvertError(f"the converter service did not start within {wait:g} s; see {log_path}")


def _start_failed(log_path: Path, code: int) -> ResumecError:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    tail = []
    for line in reversed(lines):
        if line.startswith("--- starting"):
            break
        tail.insert(0, line)
    reason = " | ".join(line.strip() for line in tail[-3:] if line.strip()) or f"exit status {code}"
    error: ResumecError = UsageError(reason) if code == UsageError.exit_code else ConvertError(reason)
    error.message = f"the converter service could not start: {reason}"
    return error


def stop(settings: Settings, wait: float = 15.0) -> int | None:
    """Stop the service; returns its pid, or None when none was running."""
    import signal

    directory = settings.runtime_dir
    current = status(settings)
    pid = current.get("pid") if current else None
    if current is not None:
        request(Stop(), settings)
    elif _lock_held(directory):
        pid = _info_pid(directory)  # running but not answering: signal it
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    if not isinstance(pid, int):
        return None
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)  # its LibreOffice dies with it: the bridge sees EOF
        except ProcessLookupError:
            pass
    return pid
