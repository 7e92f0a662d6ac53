"""The one-shot engine: one `soffice --convert-to pdf` process per document."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from resumec.convert._proc import kill_group, log_tail, remove_ipc_sockets, soffice_env
from resumec.errors import ConvertError

# Without an explicit import filter LibreOffice guesses the type, and reads a
# broken .docx as plain text: we would get a PDF full of garbage, not an error.
IMPORT_FILTER = "MS Word 2007 XML"


def pdf_filter_data(pdfa: bool) -> dict[str, bool | int]:
    """writer_pdf_Export options shared by both engines, so they produce the same bytes."""
    data: dict[str, bool | int] = {"UseTaggedPDF": True}  # accessible PDFs: headings, reading order
    if pdfa:
        data["SelectPdfVersion"] = 2  # PDF/A-2b
    return data


def convert_target(pdfa: bool) -> str:
    """The --convert-to argument; JSON filter options need LibreOffice 7.4 or later."""
    options = {
        name: {"type": "boolean" if isinstance(value, bool) else "long", "value": str(value).lower()}
        for name, value in pdf_filter_data(pdfa).items()
    }
    return "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":"))


def check_pdf(pdf: bytes, *, pdfa: bool, detail: str = "") -> bytes:
    """LibreOffice exits 0 on failure, so the output itself is the only proof of success."""
    if not pdf.startswith(b"%PDF-") or b"%%EOF" not in pdf[-1024:]:
        what = "produced an invalid PDF" if pdf else "could not convert the document"
        raise ConvertError(f"LibreOffice {what}{': ' + detail if detail else ''}")
    if pdfa and b"pdfaid:part" not in pdf:
        raise ConvertError("LibreOffice ignored the PDF/A request (command-line PDF/A export needs LibreOffice 7.4+)")
    return pdf


def convert_oneshot(
    docx: bytes,
    *,
    soffice: str,
    timeout: float = 60.0,
    pdfa: bool = False,
    tmp_root: Path | None = None,
) -> bytes:
    """Convert in a private temp dir with a private profile: two soffice sharing a profile drop work."""
    tmp = Path(tempfile.mkdtemp(prefix="resumec-soffice-", dir=tmp_root))
    try:
        source = tmp / "in.docx"
        source.write_bytes(docx)
        log = tmp / "soffice.log"
        profile_url = (tmp / "profile").absolute().as_uri()
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"-env:UserInstallation={profile_url}",
            f"--infilter={IMPORT_FILTER}",
            "--convert-to",
            convert_target(pdfa),
            "--outdir",
            str(tmp),
            str(source),
        ]
        # Output goes to a file, not a pipe: a lingering soffice.bin holding the
        # pipe open would make us wait for EOF long after the launcher exited.
        with open(log, "wb") as log_file:
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=tmp,
                    env=soffice_env(tmp),
                    start_new_session=True,  # its own process group, so we can kill soffice.bin too
                )
            except OSError as exc:
                raise ConvertError(f"could not start LibreOffice ({soffice}): {exc.strerror or exc}") from exc
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConvertError(f"LibreOffice timed out after {timeout:g} s") from None
        finally:
            kill_group(proc.pid)  # on success too: nothing of this run may outlive it
            if proc.poll() is None:
                proc.wait()
            remove_ipc_sockets(profile_url)
        output = tmp / "in.pdf"
        pdf = output.read_bytes() if output.is_file() else b""
        return check_pdf(pdf, pdfa=pdfa, detail=log_tail(log) or f"exit status {proc.returncode}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
