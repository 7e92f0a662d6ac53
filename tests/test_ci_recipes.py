"""docs/ci.md's GitHub Actions workflow and GitLab CI job, run here so the recipes cannot rot.

Each recipe is read from the document (the YAML block after its `<!-- ci-recipe: NAME -->` marker) and run
step by step in a scratch git repository holding two résumés and one commit of known date, as the CI service
would run it: the same shell commands, in order, with the recipe's variables. What a runner provides is
emulated: the checkout is the scratch repository, `setup-python` (or GitLab's python image) is a fresh venv,
the cache is the folder the recipe names, kept for a second run, and the uploaded artifacts are the files its
pattern matches. Two things are replaced:

- `apt-get update` is skipped (it needs the Debian mirrors and the package lock), and `apt-get install`
  runs with `--simulate`: the package names must exist, and all must already be installed on this machine;
- the released resumec (`git+https://github.com/...@vVERSION`, which must be in the install step) is the wheel
  `python -m build` made of this checkout, and VERSION must be this checkout's version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, have_soffice, wheel_of

DOC = ROOT / "docs" / "ci.md"
RELEASE = "git+https://github.com/resumec/resumec@v${RESUMEC_VERSION}"
COMMIT_DATE = "2024-05-01T12:00:00+00:00"

pytestmark = pytest.mark.skipif(not have_soffice(), reason="LibreOffice (soffice) is not installed")


def recipe(name: str) -> dict:
    text = DOC.read_text()
    match = re.search(rf"<!-- ci-recipe: {name} -->\n```yaml\n(.*?)\n```", text, re.S)
    assert match, f"docs/ci.md has no YAML block marked <!-- ci-recipe: {name} -->"
    return yaml.safe_load(match.group(1))


def scratch_repo(path: Path) -> Path:
    """A project as the recipes expect it: résumés in resumes/, one commit of known date."""
    (path / "resumes").mkdir(parents=True)
    shutil.copy(SAMPLES / "minimal.json", path / "resumes" / "alice.json")
    data = json.loads((SAMPLES / "minimal.json").read_text())
    data["basics"]["name"] = "Bob Example"
    (path / "resumes" / "bob.json").write_text(json.dumps(data, indent=2))
    env = {**os.environ, "GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@example.invalid",
           "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@example.invalid",
           "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
    for args in (["init", "-q"], ["add", "resumes"], ["commit", "-q", "-m", "résumés"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory) -> Path:
    """A runner's Python with pip (setup-python, or GitLab's python image): a fresh venv, shared by both recipes
    (the second one's install step then finds resumec installed, as on a runner image that caches it)."""
    venv = tmp_path_factory.mktemp("runner") / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    return venv


def python_env(tmp: Path, venv: Path) -> dict[str, str]:
    """The environment a job's shell starts with: the runner's Python first on PATH, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESUMEC_", "SOURCE_DATE_EPOCH", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", HOME=str(tmp / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1",
               RESUMEC_NO_SERVER="1")
    return env


def localize(script: str, dist: Path) -> str:
    """The replacements the module docstring lists."""
    script = script.replace(RELEASE, wheel_of(dist).as_uri())
    lines = []
    for line in script.splitlines():
        command = line.strip().removeprefix("sudo ")
        if command == "apt-get update":
            continue
        if command.startswith("apt-get install "):
            line = "apt-get install --simulate " + command.removeprefix("apt-get install ")
            line += " | tee -a \"$APT_LOG\""
        lines.append(line)
    return "\n".join(lines) + "\n"


def check_packages(log: Path, script: str) -> None:
    """The simulated install found every package and had nothing to install; the list matches the Makefile's."""
    text = log.read_text()
    assert re.search(r"^0 upgraded, 0 newly installed", text, re.M), text[-2000:]
    named = set(re.search(r"apt-get install (.*)", script)[1].split()) - {"-y", "--no-install-recommends"}
    makefile = (ROOT / "Makefile").read_text()
    listed = set(re.search(r"DEB_PACKAGES := (.*?)\n\n", makefile, re.S)[1].replace("\\", " ").split())
    assert named - {"git"} <= listed, named - listed  # names the Makefile installs (and so tests) on this machine
    from resumec.doctor import FONTS, PACKAGES

    needed = {fonts["debian"] for fonts in FONTS.values()} | {PACKAGES["libreoffice"]["debian"],
                                                               PACKAGES["poppler"]["debian"]}
    assert needed <= named, needed - named  # what doctor would otherwise ask for


def check_build(project: Path) -> None:
    """Both PDFs, dated by the commit (SOURCE_DATE_EPOCH), not by the day the test runs."""
    pdfs = sorted(p.name for p in (project / "out").glob("*.pdf"))
    assert pdfs == ["alice.pdf", "bob.pdf"]
    for name in pdfs:
        info = subprocess.run(["pdfinfo", "-isodates", str(project / "out" / name)], capture_output=True,
                              check=True).stdout.decode()
        dates = re.findall(r"^(?:CreationDate|ModDate):\s+(\S+)", info, re.M)
        assert dates and set(dates) == {"2024-05-01T12:00:00Z"}, (name, info)


def run_bash(script: str, cwd: Path, env: dict, shell: tuple[str, ...]) -> subprocess.CompletedProcess:
    proc = subprocess.run([*shell, script], cwd=cwd, env=env, capture_output=True, timeout=900)
    assert proc.returncode == 0, (script, proc.stdout.decode()[-3000:], proc.stderr.decode()[-3000:])
    return proc


# -- GitHub Actions ---------------------------------------------------------------------------------------


def expression(text: str, env: dict, project: Path) -> str:
    """The few `${{ }}` expressions the recipe uses: env.NAME, runner.os, hashFiles('glob')."""
    def value(match: re.Match) -> str:
        inner = match.group(1).strip()
        if inner.startswith("env."):
            return env[inner[4:]]
        if inner == "runner.os":
            return "Linux"
        files = re.fullmatch(r"hashFiles\('([^']+)'\)", inner)
        assert files, f"unknown expression {inner!r}"
        digest = hashlib.sha256()
        for path in sorted(p for p in project.glob(files[1]) if p.is_file()):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def github_run(workflow: dict, project: Path, env: dict, dist: Path) -> dict:
    """One run of the workflow's job; returns what the cache and upload steps were given."""
    from resumec import __version__

    env = {**env, **{k: str(v) for k, v in workflow["env"].items()}}
    assert env["RESUMEC_VERSION"] == __version__, "docs/ci.md pins another resumec than this checkout"
    (job,) = workflow["jobs"].values()
    assert any(RELEASE in step.get("run", "") for step in job["steps"]), f"no step installs {RELEASE}"
    seen: dict = {}
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            seen["checkout"] = True  # the scratch repository is the checkout
        elif uses.startswith("actions/setup-python@"):
            assert tuple(map(int, str(step["with"]["python-version"]).split("."))) >= (3, 11)
        elif uses.startswith("actions/cache@"):
            seen["cache"] = {key: expression(str(value), env, project) for key, value in step["with"].items()}
        elif uses.startswith("actions/upload-artifact@"):
            seen["upload"] = sorted(p.relative_to(project).as_posix() for p in project.glob(step["with"]["path"]))
        else:
            assert "run" in step and not uses, step
            github_env, github_path = project.parent / "github_env", project.parent / "github_path"
            github_env.touch()
            github_path.touch()
            step_env = {**env, "GITHUB_ENV": str(github_env), "GITHUB_PATH": str(github_path),
                        "APT_LOG": str(project.parent / "apt.log")}
            script = localize(step["run"], dist)
            run_bash(script, project, step_env, ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"))
            if "apt-get install" in step["run"]:
                check_packages(project.parent / "apt.log", step["run"])
                seen["installed"] = True
            for line in github_env.read_text().splitlines():
                name, _, value = line.partition("=")
                env[name] = value
            for line in github_path.read_text().splitlines():
                env["PATH"] = f"{line}{os.pathsep}{env['PATH']}"
    assert {"checkout", "cache", "upload", "installed"} <= set(seen), seen
    return seen


def test_github_actions_recipe(dist, runner_python, tmp_path):
    workflow = recipe("github")
    env = python_env(tmp_path, runner_python)
    project = scratch_repo(tmp_path / "run1" / "project")
    first = github_run(workflow, project, env, dist)
    from resumec import __version__

    cache = first["cache"]
    assert cache["key"].startswith(f"resumec-{__version__}-Linux-") and len(cache["key"]) > 40
    assert cache["restore-keys"].strip() == f"resumec-{__version__}-Linux-"
    assert first["upload"] == ["out/alice.pdf", "out/bob.pdf"]
    check_build(project)
    cache_dir = project / cache["path"]
    assert len(list(cache_dir.glob("v1/keys/*/*"))) == 4  # the DOCX and the PDF of each résumé
    report = json.loads((project / "build.json").read_text())
    assert report["ok"] and not any(o["cached"] for r in report["results"] for o in r["outputs"])

    # The next pipeline: a new runner, the same commit, the cache restored under the same key: nothing is built.
    project2 = scratch_repo(tmp_path / "run2" / "project")
    shutil.copytree(cache_dir, project2 / cache["path"])
    second = github_run(workflow, project2, env, dist)
    assert second["cache"]["key"] == cache["key"]
    check_build(project2)
    report = json.loads((project2 / "build.json").read_text())
    assert report["ok"] and all(o["cached"] for r in report["results"] for o in r["outputs"])
    for name in ("alice.pdf", "bob.pdf"):  # reproducible: the same bytes on both runners
        assert (project / "out" / name).read_bytes() == (project2 / "out" / name).read_bytes()


# -- GitLab CI ------------------------------------------------------------------------------------------


def gitlab_run(job: dict, project: Path, env: dict, dist: Path) -> dict[str, str]:
    """before_script then script, one shell, stopping at the first failing line (as GitLab's runner does)."""
    env = {**env, "CI_PROJECT_DIR": str(project), "APT_LOG": str(project.parent / "apt.log"),
           **{k: str(v) for k, v in job["variables"].items()}}
    lines = [*job["before_script"], *job["script"]]
    assert all(isinstance(line, str) for line in lines), lines
    assert any(RELEASE in line for line in job["before_script"]), f"no line installs {RELEASE}"
    script = localize("\n".join(lines), dist)
    proc = run_bash(script, project, env, ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"))
    check_packages(project.parent / "apt.log", "\n".join(job["before_script"]))
    return {"stdout": proc.stdout.decode(), **env}


def test_gitlab_ci_recipe(dist, runner_python, tmp_path):
    from resumec import __version__

    (name, job), = recipe("gitlab").items()
    assert job["variables"]["RESUMEC_VERSION"] == __version__, "docs/ci.md pins another resumec than this checkout"
    env = python_env(tmp_path, runner_python)
    project = scratch_repo(tmp_path / "run1" / "project")
    ran = gitlab_run(job, project, env, dist)
    key = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: ran[m[1] or m[2]], job["cache"]["key"])
    assert key == f"resumec-{__version__}"
    (cache_path,) = job["cache"]["paths"]
    assert f"--cache-dir {cache_path.rstrip('/')}" in "\n".join(job["script"])
    assert len(list((project / cache_path).glob("v1/keys/*/*"))) == 4
    (pattern,) = job["artifacts"]["paths"]
    assert sorted(p.relative_to(project).as_posix() for p in project.glob(pattern)) == ["out/alice.pdf", "out/bob.pdf"]
    check_build(project)
    assert "Entries:" in ran["stdout"] and f"resumec {__version__}" in ran["stdout"]

    # The next pipeline, with the cache GitLab restores: every output is a hit.
    project2 = scratch_repo(tmp_path / "run2" / "project")
    shutil.copytree(project / cache_path, project2 / cache_path)
    again = gitlab_run(job, project2, env, dist)
    assert re.search(r"Hits:\s+4 ", again["stdout"]), again["stdout"]
    check_build(project2)
