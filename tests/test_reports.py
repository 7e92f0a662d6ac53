"""--json reports: errors as structured problems, checked against the JSON Schemas shipped in the package.

Every document here is a real one, printed by `resumec compile --json` or
`resumec validate --json` in a subprocess, and validated against
resumec/schemas/*.json as installed (importlib.resources).
"""

from __future__ import annotations

import json
from importlib import resources

import pytest
from jsonschema import Draft202012Validator

from conftest import SAMPLES, run_cli
from resumec.errors import InputError, Problem
from resumec.live import Build
from resumec.load import parse_text
from resumec.validate import MAX_REPORTED, check


def schema(name: str) -> dict:
    return json.loads(resources.files("resumec").joinpath("schemas", name).read_text(encoding="utf-8"))


COMPILE = Draft202012Validator(schema("compile-report.v1.json"))
VALIDATE = Draft202012Validator(schema("validate-report.v1.json"))

BAD = '{\n  "basics": {"name": 7, "email": "x"},\n  "work": [{"startDate": "2010-13-45"}]\n}\n'
BAD_PROBLEMS = [
    {"file": None, "line": 2, "column": 22, "path": "basics.name", "pointer": "/basics/name",
     "message": "expected a string, got 7"},
    {"file": None, "line": 2, "column": 34, "path": "basics.email", "pointer": "/basics/email",
     "message": 'not a valid email address "x" (expected local@domain)'},
    {"file": None, "line": 3, "column": 26, "path": "work[0].startDate", "pointer": "/work/0/startDate",
     "message": 'not a valid date "2010-13-45" (expected YYYY, YYYY-MM or YYYY-MM-DD)'},
]


def report(validator: Draft202012Validator, *args: str, **kwargs) -> dict:
    proc = run_cli(*args, **kwargs)
    document = json.loads(proc.stdout)
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert document["exit_code"] == proc.returncode
    return document


def expected(problems: list[dict], file: str) -> list[dict]:
    return [{**p, "file": file} for p in problems]


def test_the_schemas_are_valid_and_share_their_error_definitions():
    for name in ("compile-report.v1.json", "validate-report.v1.json"):
        Draft202012Validator.check_schema(schema(name))
    compiled, validated = schema("compile-report.v1.json"), schema("validate-report.v1.json")
    for key in ("error", "problem", "exit_code"):
        assert validated["$defs"][key] == compiled["$defs"][key]
    formats = compiled["$defs"]["output"]["properties"]["format"]["enum"]
    from resumec.options import FORMATS

    assert formats == list(FORMATS)


def test_compile_json_lists_every_problem_as_fields_and_keeps_the_human_lines(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(BAD, encoding="utf-8")
    doc = report(COMPILE, "compile", str(src), "-f", "md", "--json")
    error = doc["results"][0]["error"]
    assert error["type"] == "InputError" and error["exit_code"] == 1 and error["omitted"] == 0
    assert error["problems"] == expected(BAD_PROBLEMS, str(src))
    # The printed lines are made from the same values, exactly as before.
    human = run_cli("compile", str(src), "-f", "md")
    lines = human.stderr.decode().splitlines()
    assert lines == error["details"] == [f"{p['file']}:{p['line']}:{p['column']}: {p['path']}: {p['message']}"
                                         for p in error["problems"]]


def test_validate_json_has_the_same_problems(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(BAD, encoding="utf-8")
    good = SAMPLES / "full.json"
    doc = report(VALIDATE, "validate", str(src), str(good), "--json")
    assert not doc["ok"] and doc["exit_code"] == 1
    assert [r["input"] for r in doc["results"]] == [str(src), str(good)]
    assert doc["results"][0]["error"]["problems"] == expected(BAD_PROBLEMS, str(src))
    assert doc["results"][1] == {"input": str(good), "ok": True, "exit_code": 0, "error": None}
    human = run_cli("validate", str(src), str(good))
    assert human.stdout == b"" and human.stderr.decode().splitlines() == [
        *doc["results"][0]["error"]["details"], f"{good}: valid"]


@pytest.mark.parametrize(("text", "problem"), [
    ('{"basics": {"name": "x",}}', {"line": 1, "column": 25, "path": None, "message": "Expecting property name "
                                                                                      "enclosed in double quotes"}),
    ("basics:\n  name: [unclosed\n", {"line": 3, "column": 1, "path": None}),
    ('{"meta": {"sections": ["work", "wrok"]}}', {"line": 1, "column": 32, "path": "meta.sections[1]",
                                                  "pointer": "/meta/sections/1"}),
    ('{"basics": {"image": "../x.png"}}', {"line": 1, "column": 22, "path": "basics.image",
                                           "message": '"../x.png" is outside the résumé\'s folder'}),
])
def test_syntax_meta_and_photo_errors_are_located_fields(tmp_path, text, problem):
    src = tmp_path / ("cv.yaml" if text.startswith("basics:") else "cv.json")
    src.write_text(text, encoding="utf-8")
    for validator, args in ((VALIDATE, ("validate",)), (COMPILE, ("compile", "-f", "txt"))):
        doc = report(validator, *args, str(src), "--json")
        [found] = doc["results"][0]["error"]["problems"]
        assert found["file"] == str(src)
        assert {key: found[key] for key in problem} == problem


def test_usage_errors_and_a_batch_validate_against_the_schema(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    doc = report(COMPILE, "compile", str(empty), "--json")
    assert doc["exit_code"] == 2 and doc["results"][0]["input"] is None
    assert doc["results"][0]["error"]["problems"][0]["message"].endswith("no .json, .yaml or .yml files in this "
                                                                          "directory")
    doc = report(VALIDATE, "validate", str(empty), "--json")
    assert doc["exit_code"] == 2 and doc["results"][0]["input"] is None
    (tmp_path / "a.json").write_text(json.dumps({"basics": {"name": "A"}}), encoding="utf-8")
    (tmp_path / "b.json").write_text(BAD, encoding="utf-8")
    doc = report(COMPILE, "compile", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-o", f"{tmp_path}/o/",
                 "-f", "md,txt", "--json")
    assert [r["ok"] for r in doc["results"]] == [True, False] and doc["exit_code"] == 1
    assert [o["format"] for o in doc["results"][0]["outputs"]] == ["md", "txt"]


def test_libreoffice_missing_validates_against_the_schema(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(json.dumps({"basics": {"name": "A"}}), encoding="utf-8")
    doc = report(COMPILE, "compile", str(src), "-f", "html,pdf", "--no-cache", "--json",
                 env={"RESUMEC_SOFFICE": "/nope/soffice"})
    result = doc["results"][0]
    assert doc["exit_code"] == 3 and result["error"]["type"] == "LibreOfficeMissing"
    assert [o["format"] for o in result["outputs"]] == ["html"]


def test_more_than_the_listed_problems_are_counted(tmp_path):
    src = tmp_path / "cv.json"
    src.write_text(json.dumps({"work": [{"startDate": "bad"}] * (MAX_REPORTED + 7)}), encoding="utf-8")
    doc = report(VALIDATE, "validate", str(src), "--json")
    error = doc["results"][0]["error"]
    assert len(error["problems"]) == MAX_REPORTED and error["omitted"] == 7
    assert error["details"][-1] == f"{src}: … and 7 more problems"


def test_standard_input_problems_name_stdin(tmp_path):
    doc = report(VALIDATE, "validate", "-", "--json", input=b"basics:\n  name: 7\n")
    [problem] = doc["results"][0]["error"]["problems"]
    assert doc["results"][0]["input"] == "-"
    assert (problem["file"], problem["line"], problem["column"], problem["path"]) == ("<stdin>", 2, 9, "basics.name")


def test_a_problem_prints_as_the_familiar_line():
    assert str(Problem("bad", "cv.json", 3, 4, ("work", 1, "url"))) == "cv.json:3:4: work[1].url: bad"
    assert str(Problem("bad", "cv.json", 3)) == "cv.json:3: bad"
    assert str(Problem("bad", "cv.json")) == "cv.json: bad"
    assert str(Problem("bad")) == "bad"
    assert Problem("x", path=("a/b", "c~d", 0)).to_json()["pointer"] == "/a~1b/c~0d/0"
    assert Problem("x", path=()).to_json()["path"] == "(root)"


def test_the_live_preview_takes_problems_from_the_error_not_its_text():
    """A file name that looks like a location (`a:1:2: b.json`) would fool a parser of the printed line."""
    with pytest.raises(InputError) as info:
        check(parse_text("a:1:2: b.json", '{"basics": {"name": 7}}'))
    [problem] = Build.failed(info.value).problems
    assert (problem.file, problem.line, problem.col, problem.path) == ("a:1:2: b.json", 1, 21, "basics.name")
    assert problem.message == "expected a string, got 7"
