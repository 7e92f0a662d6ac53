"""`resumec doctor`: what this machine has, what is missing, and the exact fix.

Each check is a plain function returning a Check; the CLI prints them.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from resumec.settings import Settings

# Font families resumec's themes rely on, and the package that provides them per OS.
FONTS = {
    "Carlito": {"debian": "fonts-crosextra-carlito", "fedora": "google-carlito-fonts", "macos": "font-carlito"},
    "Caladea": {"debian": "fonts-crosextra-caladea", "fedora": "google-caladea-fonts", "macos": "font-caladea"},
    "Liberation Sans": {"debian": "fonts-liberation", "fedora": "liberation-sans-fonts", "macos": "font-liberation"},
    "Liberation Serif": {"debian": "fonts-liberation", "fedora": "liberation-serif-fonts", "macos": "font-liberation"},
    "Noto Sans CJK SC": {"debian": "fonts-noto-cjk", "fedora": "google-noto-sans-cjk-fonts", "macos": "font-noto-sans-cjk"},
    # Emoji are set in Symbola (outline glyphs; LibreOffice 7.4 exports colour-bitmap emoji invisibly);
    # Noto Color Emoji covers, in the text layer at least, emoji newer than Symbola. No Homebrew cask
    # ships Symbola: on macOS it is installed by hand (see the README).
    "Symbola": {"debian": "fonts-symbola", "fedora": "gdouros-symbola-fonts", "macos": None},
    "Noto Color Emoji": {"debian": "fonts-noto-color-emoji", "fedora": "google-noto-color-emoji-fonts",
                         "macos": "font-noto-color-emoji"},
}
PACKAGES = {
    "libreoffice": {"debian": "libreoffice-writer-nogui", "fedora": "libreoffice-writer", "macos": "--cask libreoffice"},
    "uno": {"debian": "python3-uno", "fedora": "libreoffice-pyuno", "macos": None},
    "poppler": {"debian": "poppler-utils", "fedora": "poppler-utils", "macos": "poppler"},
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None  # an exact command, when something is missing
    required: bool = True


def os_family() -> str:
    """Which package manager's names to suggest: "debian", "fedora", "macos" or "unknown"."""
    if platform.system() == "Darwin":
        return "macos"
    try:
        release = platform.freedesktop_os_release()  # /etc/os-release, else /usr/lib/os-release
    except OSError:
        return "unknown"
    return family_of(release)


def family_of(release: dict[str, str]) -> str:
    """The family of an os-release mapping: its ID, then each ID_LIKE word (Ubuntu is "debian", Rocky "fedora")."""
    ids = [release.get("ID", ""), *release.get("ID_LIKE", "").split()]
    for word in ids:
        if word in ("debian", "ubuntu"):
            return "debian"
        if word in ("fedora", "rhel", "centos"):
            return "fedora"
    return "unknown"


def install_command(packages: list[str], family: str) -> str | None:
    names = [p for p in dict.fromkeys(packages) if p]
    if not names:
        return None
    if family == "debian":
        return "sudo apt-get update && sudo apt-get install -y " + " ".join(names)
    if family == "fedora":
        return "sudo dnf install -y " + " ".join(names)
    if family == "macos":
        casks = [n.split()[-1] for n in names if n.startswith("--cask")]
        fonts = [n for n in names if n.startswith("font-")]
        plain = [n for n in names if n not in fonts and not n.startswith("--cask")]
        parts = [f"brew install {' '.join(plain)}"] if plain else []
        if casks or fonts:
            parts.append(f"brew install --cask {' '.join(casks + fonts)}")
        return " && ".join(parts)
    return None


def check_libreoffice(family: str, settings: Settings) -> tuple[Check, str | None]:
    from resumec.convert import converter_identity, find_soffice
    from resumec.errors import ConvertError

    try:
        soffice = find_soffice(settings)
    except ConvertError:
        fix = install_command([PACKAGES["libreoffice"][family] or ""], family)
        return Check("LibreOffice", False, "not found (PDF output needs it)", fix), None
    return Check("LibreOffice", True, f"{converter_identity(soffice).split(';')[0]} at {soffice}"), soffice


def check_uno(family: str, soffice: str | None, settings: Settings) -> Check:
    from resumec.convert.warm import find_uno_python

    python = find_uno_python(soffice, settings)
    if python:
        return Check("UNO Python", True, f"{python} (warm converter for watch, batch and the service)", required=False)
    package = PACKAGES["uno"][family]
    fix = install_command([package], family) if package else "set RESUMEC_UNO_PYTHON to LibreOffice's bundled python"
    return Check("UNO Python", False, "none found: watch, batch and the service fall back to one-shot conversion",
                 fix, required=False)


def check_poppler(family: str) -> Check:
    tool = shutil.which("pdftoppm")
    if tool:
        return Check("pdftoppm", True, f"{tool} (for --format png)", required=False)
    return Check("pdftoppm", False, "not found: --format png needs it",
                 install_command([PACKAGES["poppler"][family] or ""], family), required=False)


def check_fonts(family: str) -> Check:
    if shutil.which("fc-list") is None:
        return Check("Fonts", False, "cannot check: fc-list (fontconfig) is not installed", required=False)
    try:
        listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return Check("Fonts", False, "cannot check: fc-list failed", required=False)
    present = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    missing = [font for font in FONTS if font not in present]
    if not missing:
        return Check("Fonts", True, ", ".join(FONTS))
    fix = install_command([FONTS[font][family] for font in missing if family in FONTS[font]], family)
    return Check("Fonts", False, "missing: " + ", ".join(missing) + " (text would reflow or show boxes)", fix)


def check_cache(settings: Settings) -> Check:
    from resumec.cache import Cache, format_size

    root = settings.cache_dir
    info = Cache(root).info()
    writable = _writable(root)
    detail = f"{root} ({info['entries']} entries, {format_size(info['size'])})"
    if writable:
        return Check("Cache", True, detail, required=False)
    return Check("Cache", False, detail + ": not writable; builds run uncached",
                 f"mkdir -p {root} && chmod u+rwx {root}  # or set RESUMEC_CACHE_DIR", required=False)


def _writable(root: Path) -> bool:
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def run_checks(settings: Settings) -> list[Check]:
    family = os_family()
    office, soffice = check_libreoffice(family, settings)
    return [office, check_uno(family, soffice, settings), check_fonts(family), check_poppler(family),
            check_cache(settings)]
