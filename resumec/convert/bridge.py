"""Keep one LibreOffice running and convert DOCX files to PDF over UNO, one JSON line per request.

Run as `<python with uno> bridge.py --soffice PATH --profile DIR --pipe NAME`.
It uses only the standard library and `uno`, because it runs under the Python
that ships LibreOffice's bindings (Debian's /usr/bin/python3, or the one inside
LibreOffice.app), never under resumec's own interpreter.

Protocol (stdout carries nothing else):
  at start       {"spawned": true, "pid": N}  N = LibreOffice's pid and process group; sent
                 again when it restarts itself (a first start with a new profile does)
  then           {"ready": true, "pid": N}  or  {"ready": false, "error": "..."} and exit
  request        {"id": 1, "in": "/abs/in.docx", "out": "/abs/out.pdf", "pdfa": false}
  reply          {"id": 1, "ok": true}
                 {"id": 1, "ok": false, "error": "...", "fatal": false}
"fatal": true means LibreOffice itself is gone; the bridge exits after replying.
On stdin EOF, SIGTERM or SIGHUP the bridge kills LibreOffice and exits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import libreoffice  # resumec/convert/libreoffice.py, beside this file: what both sides must agree on
NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_UPDATE = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE: don't fetch linked content


# Run between fork and LibreOffice on Linux: LibreOffice must die with the bridge even when the
# bridge is SIGKILLed (a test runner or CI tearing down a process tree), and must not inherit the
# bridge's blocked signals. PR_SET_PDEATHSIG = 1, and it survives execve.
TRAMPOLINE = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
if os.getppid() != int(sys.argv[1]):
    os._exit(70)
signal.pthread_sigmask(signal.SIG_SETMASK, set())
os.execv(sys.argv[2], sys.argv[2:])
"""
RESTART_CODES = (79, 81)  # soffice.bin asks its launcher to restart it, e.g. after creating a profile


def profile_url(profile: str) -> str:
    return pathlib.Path(os.path.abspath(profile)).as_uri()


@dataclasses.dataclass
class Office:
    """One LibreOffice process and what is needed to start, restart and clean up after it."""

    soffice: str
    profile: str
    pipe: str
    proc: "subprocess.Popen | None" = None
    restarts: int = 0
    stopping: threading.Event = dataclasses.field(default_factory=threading.Event)

    def command(self) -> list:
        args = [
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
            f"-env:UserInstallation={profile_url(self.profile)}",
        ]
        binary = os.path.join(os.path.dirname(os.path.realpath(self.soffice)), "soffice.bin")
        if sys.platform.startswith("linux") and os.path.isfile(binary):
            # Skip the sh + oosplash launchers so that the pdeath signal lands on soffice.bin itself.
            return [sys.executable, "-c", TRAMPOLINE, str(os.getpid()), binary, *args]
        return [self.soffice, *args]

    def start(self) -> int:
        """Start it in its own process group, so killing the group reaches everything it spawns."""
        env = dict(os.environ, SAL_ENABLE_FILE_LOCKING="1")  # what the soffice launcher script sets
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,  # never our protocol channel
            stderr=sys.stderr,
            env=env,
            start_new_session=True,
        )
        return self.proc.pid

    def wants_restart(self) -> bool:
        """Do what oosplash does for a first start: soffice.bin exits 81 once it has built the profile."""
        code = self.proc.poll() if self.proc else None
        if code in RESTART_CODES and self.restarts < 3:
            self.restarts += 1
            return True
        return False

    def stop(self) -> None:
        """Kill, not terminate: the profile is thrown away, so there is nothing worth saving."""
        self.stopping.set()
        if self.proc is not None:
            libreoffice.kill_group(self.proc.pid)
        libreoffice.remove_ipc_sockets(profile_url(self.profile), self.pipe)


def exit_on_signal(office: Office) -> None:
    """Handle SIGTERM/SIGHUP in a thread: the main thread may be stuck in a UNO call forever."""
    signal.sigwait({signal.SIGTERM, signal.SIGHUP})
    office.stop()
    os._exit(0)


def exit_when_office_dies(office: Office, proc: subprocess.Popen) -> None:
    """A bridge without its LibreOffice is useless; exiting tells the parent to start a new one."""
    proc.wait()
    if office.stopping.is_set():
        return  # we killed it ourselves and are exiting anyway
    office.stop()
    os._exit(3)


def connect(uno, office: Office, deadline: float, reply):
    """Retry until LibreOffice listens on the pipe; the first start builds a profile and takes ~1 s."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={office.pipe};urp;StarOffice.ComponentContext"
    while True:
        try:
            context = resolver.resolve(url)
            return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        except Exception as exc:  # NoConnectException until it listens; early calls may also fail
            if office.wants_restart():
                reply({"spawned": True, "pid": office.start()})
            elif office.proc.poll() is not None:
                raise RuntimeError(f"LibreOffice exited during start-up (status {office.proc.returncode})") from None
            if time.monotonic() > deadline:
                detail = getattr(exc, "Message", "") or type(exc).__name__
                raise RuntimeError(f"LibreOffice did not start in time ({detail})") from None
            time.sleep(0.05)


def props(uno, **values):
    from com.sun.star.beans import PropertyValue

    return tuple(PropertyValue(Name=name, Value=value) for name, value in values.items())


def convert(uno, desktop, source: str, target: str, pdfa: bool) -> None:
    """Load hidden and read-only with macros off, export, close: nothing stays open between requests."""
    document = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(source),
        "_blank",
        0,
        props(
            uno,
            Hidden=True,
            ReadOnly=True,
            FilterName=libreoffice.IMPORT_FILTER,
            MacroExecutionMode=NEVER_EXECUTE,
            UpdateDocMode=NO_UPDATE,
        ),
    )
    if document is None:
        raise ValueError("not a readable Word document")
    try:
        options = libreoffice.pdf_filter_data(pdfa)
        filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", props(uno, **options))
        store = props(uno, FilterName="writer_pdf_Export", FilterData=filter_data)
        uno.invoke(document, "storeToURL", (uno.systemPathToFileUrl(target), store))
    finally:
        try:
            document.close(True)
        except Exception:
            document.dispose()


def office_alive(office: Office, desktop) -> bool:
    if office.proc.poll() is not None:
        return False
    try:
        desktop.getComponents()  # a cheap round trip: raises at once if the connection is gone
        return True
    except Exception:
        return False


def serve(uno, desktop, office: Office, reply) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            convert(uno, desktop, request["in"], request["out"], bool(request.get("pdfa")))
            reply({"id": request_id, "ok": True})
        except Exception as exc:  # UNO raises its own exception types; report them all
            fatal = not office_alive(office, desktop)
            message = getattr(exc, "Message", "") or str(exc) or type(exc).__name__
            reply({"id": request_id, "ok": False, "error": message.strip(), "fatal": fatal})
            if fatal:
                return


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soffice", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--pipe", required=True)
    parser.add_argument("--start-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    # Our stdout is the protocol; anything else that prints (uno, LibreOffice) goes to stderr.
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def reply(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    deadline = time.monotonic() + args.start_timeout
    # Block the signals before any other thread exists, so only the waiter thread receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGHUP})
    office = Office(args.soffice, args.profile, args.pipe)
    try:
        threading.Thread(target=exit_on_signal, args=(office,), daemon=True).start()
        reply({"spawned": True, "pid": office.start()})
        try:
            import uno

            desktop = connect(uno, office, deadline, reply)
        except Exception as exc:
            reply({"ready": False, "error": str(exc) or type(exc).__name__})
            return 1
        threading.Thread(target=exit_when_office_dies, args=(office, office.proc), daemon=True).start()
        reply({"ready": True, "pid": office.proc.pid})
        serve(uno, desktop, office, reply)
        return 0
    finally:
        office.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
