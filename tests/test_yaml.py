"""JSON Resume in YAML: the same data as JSON, the same located errors, and nothing a hostile file can do.

Hostile files: alias bombs (in a subprocess with a 1 GB address-space cap, so
an unbounded expansion would die instead of passing), deep nesting, object
tags that would run code if constructed, and YAML's other surprises.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import SAMPLES, run_cli
from resumec.errors import InputError
from resumec.load import MAX_DEPTH, load
from resumec.load_yaml import MAX_EXPANDED, parse_yaml
from resumec.pipeline import check

FULL = json.loads((SAMPLES / "full.json").read_text(encoding="utf-8"))


def error_of(text: str, name: str = "cv.yaml") -> InputError:
    with pytest.raises(InputError) as info:
        check(parse_yaml(name, text))
    return info.value


def only_line(text: str) -> str:
    error = error_of(text)
    assert len(error.lines()) == 1, error.lines()
    return error.lines()[0]


# -- the same résumé ---------------------------------------------------------------------------


def test_the_full_sample_in_yaml_is_the_same_data_and_a_cache_hit(tmp_path):
    """Written by PyYAML's dumper, read back as exactly the JSON's data: so the same cache keys."""
    (tmp_path / "cv.json").write_text(json.dumps(FULL), encoding="utf-8")
    (tmp_path / "yaml").mkdir()
    (tmp_path / "yaml" / "cv.yml").write_text(yaml.safe_dump(FULL, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")
    assert load(tmp_path / "yaml" / "cv.yml").data == FULL

    def compiled(path: Path) -> dict:
        proc = run_cli("compile", str(path), "-f", "docx,md", "--json")
        assert proc.returncode == 0, proc.stderr.decode()
        return {o["format"]: o for o in json.loads(proc.stdout)["results"][0]["outputs"]}

    first = compiled(tmp_path / "cv.json")
    second = compiled(tmp_path / "yaml" / "cv.yml")
    assert all(o["cached"] for o in second.values())
    assert {f: o["sha256"] for f, o in first.items()} == {f: o["sha256"] for f, o in second.items()}


def test_yaml_scalars_follow_the_1_2_core_schema():
    data = parse_yaml("cv.yaml", (
        "basics:\n"
        "  name: Ana\n"
        "  location: {countryCode: NO, city: on, region: yes, postalCode: '01234'}\n"
        "work:\n"
        "  - startDate: 2021-03-01\n"
        "    endDate: 2022-01\n"
        "    x: [0x1F, 0o17, 1_000, +3.5, -.5, 1e3, ~, null, true, False, 012]\n"
    )).data
    assert data["basics"]["location"] == {"countryCode": "NO", "city": "on", "region": "yes", "postalCode": "01234"}
    assert data["work"][0]["startDate"] == "2021-03-01" and data["work"][0]["endDate"] == "2022-01"
    assert data["work"][0]["x"] == [31, 15, "1_000", 3.5, -0.5, 1000.0, None, None, True, False, 12]


def test_core_tags_and_anchors_are_fine():
    data = parse_yaml("cv.yaml", (
        "skills:\n"
        "  - {name: Go, keywords: &kw [grpc, kafka]}\n"
        "  - {name: Java, keywords: *kw}\n"
        "basics: {name: !!str 123, label: ! 12, phone: !!str +1 555}\n"
        "x: !!int '7'\n"
    )).data
    assert data["skills"][1]["keywords"] == ["grpc", "kafka"]
    assert data["basics"] == {"name": "123", "label": "12", "phone": "+1 555"}
    assert data["x"] == 7


# -- located errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line"), [
    ("basics:\n  name: 7\n", "cv.yaml:2:9: basics.name: expected a string, got 7"),
    ("basics: {name: Ana, email: [x]}\n", 'cv.yaml:1:28: basics.email: expected a string, got ["x"]'),
    ("work:\n  - name: X\n    startDate: 2010-13-45\n",
     'cv.yaml:3:16: work[0].startDate: not a valid date "2010-13-45" (expected YYYY, YYYY-MM or YYYY-MM-DD)'),
    ("meta:\n  sections:\n    - work\n    - wrok\n",
     "cv.yaml:4:7: meta.sections[1]: unknown section 'wrok'; did you mean 'work'? (valid: work, volunteer, "
     "education, awards, certificates, publications, skills, languages, interests, references, projects)"),
    ("basics:\r\n  name: Ana\r\n  url: www.x.example\r\n",
     'cv.yaml:3:8: basics.url: not a valid URL "www.x.example" (no scheme such as https://; did you mean '
     'https://www.x.example)'),
])
def test_schema_errors_point_at_the_yaml_line_and_column(text, line):
    assert only_line(text) == line


@pytest.mark.parametrize(("text", "start", "message"), [
    ("basics:\n  name: [unclosed\n", "cv.yaml:3:1:", "did not find expected ',' or ']'"),
    ("basics:\n\tname: Ana\n", "cv.yaml:2:1:", "YAML does not allow tabs for indentation"),
    ("basics: {name: Ana}\nbasics: {}\n", "cv.yaml:2:1:", 'duplicate key "basics" (first at line 1)'),
    ("a: 1\n---\nb: 2\n", "cv.yaml:2:1:", "one YAML document"),
    ("a: *nope\n", "cv.yaml:1:4:", "alias *nope names no anchor before it"),
    ("a: &x [1, *x]\n", "cv.yaml:1:11:", "recursive structures are not allowed"),
    ("1: x\n", "cv.yaml:1:1:", "a mapping key must be a string, got 1; quote it"),
    ("? [a, b]\n: x\n", "cv.yaml:1:3:", "a mapping key must be a string"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", "cv.yaml:3:3:", "merge keys (<<) are not supported"),
    ("a: .inf\n", "cv.yaml:1:4:", ".inf is not allowed (numbers must be finite)"),
    ("a: .NaN\n", "cv.yaml:1:4:", ".NaN is not allowed"),
    ("a: 1e400\n", "cv.yaml:1:4:", "number is too large"),
    ("a: " + "9" * 5000 + "\n", "cv.yaml:1:4:", "number is too large"),
    ("a: !!int x\n", "cv.yaml:1:4:", '!!int "x" is not a valid int'),
    ("a:\n  b: \x01\n", "cv.yaml:2:6:", "character U+0001 is not allowed in YAML"),
    ('a: "\\ud800"\n', "cv.yaml:1:7:", "invalid Unicode character escape"),
])
def test_syntax_and_structure_errors_are_located(text, start, message):
    line = only_line(text)
    assert line.startswith(start) and message in line, line


def test_empty_and_non_mapping_documents():
    assert only_line("# only a comment\n\n") == "cv.yaml: empty input (expected a YAML mapping)"
    assert only_line("---\n") == "cv.yaml:1:1: (root): expected an object, got null"
    assert only_line("- a\n- b\n") == 'cv.yaml:1:1: (root): expected an object, got ["a", "b"]'


def test_encoding_and_size_are_checked_as_for_json(tmp_path):
    wide = tmp_path / "wide.yaml"
    wide.write_bytes("basics: {name: Ana}\n".encode("utf-16"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (5 * 1024 * 1024) + b"\n")
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfbasics:\n  name: 7\n")
    for path, message in ((wide, "text is UTF-16-encoded; save it as UTF-8"), (big, "the limit is 5 MB")):
        with pytest.raises(InputError) as info:
            load(path)
        assert info.value.message.startswith(f"{path}: ") and message in info.value.message
    with pytest.raises(InputError) as info:
        check(load(bom))
    assert info.value.lines() == [f"{bom}:2:9: basics.name: expected a string, got 7"]


# -- hostile files ----------------------------------------------------------------------------------


def _bomb(levels: int = 10, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _limited(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`resumec ARGS` with at most 1 GB of address space: an unbounded expansion dies rather than passes."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run([sys.executable, "-m", "resumec", *args], capture_output=True, cwd=tmp_path,
                          preexec_fn=cap, timeout=300)


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    """10^10 "lol"s if expanded; refused where the expansion crosses the limit, in bounded memory."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(), encoding="utf-8")
    for command in (["validate", "bomb.yaml"], ["compile", "bomb.yaml", "-f", "txt"]):
        proc = _limited(command, tmp_path)
        assert proc.returncode == 1, proc.stderr.decode()
        err = proc.stderr.decode()
        assert err.startswith("bomb.yaml:") and "with its aliases expanded this document is over 5 MB" in err, err
    assert not (tmp_path / "bomb.txt").exists()


def test_aliases_within_the_limit_are_expanded():
    small = parse_yaml("cv.yaml", _bomb(levels=3, width=5)).data
    assert len(small["a2"]) == 5 and small["a2"][0] == [["lol"] * 5] * 5
    with pytest.raises(InputError):
        parse_yaml("cv.yaml", "a: &a [" + "x" * (MAX_EXPANDED // 2) + "]\nb: [*a, *a, *a]\n")


@pytest.mark.parametrize(("text", "where"), [
    ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", f"1:{3 + MAX_DEPTH}"),
    ("".join("  " * i + "- \n" for i in range(MAX_DEPTH + 1)), f"{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}"),
    ("".join("  " * i + f"k{i}:\n" for i in range(5000)), f"{MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}"),
])
def test_deep_nesting_is_refused_where_it_crosses_the_limit(text, where):
    assert only_line(text) == f"cv.yaml:{where}: nested more than {MAX_DEPTH} levels deep"


def test_deep_nesting_at_the_limit_is_fine():
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_yaml("cv.yaml", text).data["a"] is not None


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system", "!!python/object/new:os.system", "!!python/name:os.system",
    "!!python/module:os", "!!binary", "!!timestamp", "!!set", "!!omap", "!custom", "!<tag:example.com,2000:x>",
])
def test_tags_that_construct_objects_are_refused_and_nothing_runs(tmp_path, tag):
    marker = tmp_path / "ran"
    src = tmp_path / "cv.yaml"
    src.write_text(f"basics:\n  name: {tag} [\"touch {marker}\"]\n", encoding="utf-8")
    proc = run_cli("compile", str(src), "-f", "txt", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith(f"{src}:2:9: tag ") and "is not allowed" in err, err
    assert not marker.exists() and not (tmp_path / "cv.txt").exists()


# -- where YAML comes in ---------------------------------------------------------------------------


def test_folders_take_yaml_and_yml_and_clashes_are_refused(tmp_path):
    people = tmp_path / "people"
    people.mkdir()
    (people / "ana.yaml").write_text("basics: {name: Ana}\n", encoding="utf-8")
    (people / "bo.YML").write_text("basics: {name: Bo}\n", encoding="utf-8")
    (people / "cy.json").write_text('{"basics": {"name": "Cy"}}', encoding="utf-8")
    (people / "notes.txt").write_text("not a résumé", encoding="utf-8")
    proc = run_cli("compile", str(people), "-f", "txt", "-o", f"{tmp_path}/out/", "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ana.txt", "bo.txt", "cy.txt"]
    assert (tmp_path / "out" / "bo.txt").read_text(encoding="utf-8").startswith("Bo\n")
    (people / "cy.yaml").write_text("basics: {name: Cy again}\n", encoding="utf-8")
    proc = run_cli("compile", str(people), "-f", "txt", "-o", f"{tmp_path}/out/")
    assert proc.returncode == 2 and b"would both write" in proc.stderr


def test_standard_input_is_sniffed(tmp_path):
    """JSON when it starts with { or [, YAML otherwise."""
    proc = run_cli("compile", "-", "-f", "txt", "-o", "-", input=b"# me\nbasics:\n  name: Ana\n")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("Ana\n===\n"), proc.stderr.decode()
    proc = run_cli("compile", "-", "-f", "txt", "-o", "-", input=b'  {"basics": {"name": "Jo"}}')
    assert proc.returncode == 0 and proc.stdout.decode().startswith("Jo\n==\n")
    proc = run_cli("validate", "-", input=b'{"basics": {"name": "Jo",}}')
    assert proc.returncode == 1 and proc.stderr.decode().startswith("<stdin>:1:26: Expecting property name")
    proc = run_cli("validate", "-", input=b"basics:\n  name: [\n")
    assert proc.returncode == 1 and proc.stderr.decode().startswith("<stdin>:3:1: ")


def test_init_yaml_writes_a_starter_that_validates_and_compiles(tmp_path):
    proc = run_cli("init", "--yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    starter = json.loads((Path(__file__).resolve().parents[1] / "resumec" / "starter.json").read_text("utf-8"))
    starter.pop("$schema")
    assert load(tmp_path / "resume.yaml").data == starter
    assert run_cli("validate", "resume.yaml", cwd=tmp_path).returncode == 0
    assert run_cli("compile", "resume.yaml", "-f", "md", cwd=tmp_path).returncode == 0
    assert (tmp_path / "resume.md").read_text(encoding="utf-8").startswith("# Your Name\n")
    proc = run_cli("init", "cv.yml", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "cv.yml").read_text("utf-8").startswith("# A JSON Resume in YAML")


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_libyaml_and_the_pure_python_parser_locate_alike(monkeypatch, loader):
    """libyaml is used when PyYAML has it; without it the pure-Python parser gives the same positions."""
    import resumec.load_yaml as load_yaml

    if not hasattr(yaml, loader):
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(load_yaml, "_Loader", getattr(yaml, loader))
    assert only_line("basics:\n  name: 7\n") == "cv.yaml:2:9: basics.name: expected a string, got 7"
    assert only_line("basics:\n  name: [unclosed\n").startswith("cv.yaml:3:1: ")
    assert only_line("a:\n  b: \x01\n") == "cv.yaml:2:6: character U+0001 is not allowed in YAML"
    assert only_line("x: " + "[" * 70 + "]" * 70) == f"cv.yaml:1:{3 + MAX_DEPTH}: nested more than 64 levels deep"
    assert only_line(_bomb()).startswith("cv.yaml:7:")
    # A \uD800 escape: libyaml refuses it while parsing; the pure-Python parser yields it and we refuse it.
    assert only_line('a: "\\ud800"\n').startswith("cv.yaml:1:")
    assert "Unicode" in only_line('a: "\\ud800"\n')
