"""Third-party templates run under a time and size budget: exit 1 with the template's file and line.

Each case runs the real CLI in a child limited to 3 GB of address space: a guard that failed would
end in MemoryError (reported, but not with the budget's message) instead of the budget's refusal.
The subprocess timeout is only a safety net; the assertions are the exit code and the message.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli
from resumec.docx import budget

# Line 2 of work.xml.j2 holds the hostile expression; line 1 is a comment.
CASES = {
    # the six from the issue
    "nested range": ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                     "ran longer than its budget"),
    "lipsum": ("{{ lipsum(n=1000000) }}", "lipsum(n=1,000,000): the limit is 100"),
    "power": ("{{ 7**(10**9) }}", "7 ** 1000000000 would make"),
    "string repeat": ("{{ 'x' * 10**10 }}", "str * 10,000,000,000 would make"),
    "center": ("{{ 'x'|center(10**9) }}", "center() width 1,000,000,000 exceeds"),
    "printf star": ("{{ '%*s'|format(10**9, 'x') }}", "format width or precision of 1,000,000,000"),
    # and more of the same family
    "printf literal width": ("{{ '%999999999d' % 1 }}", "format width or precision of 999,999,999"),
    "str.format width": ("{{ '{:>999999999}'.format('x') }}", "format width or precision of 999,999,999"),
    "ljust method": ("{{ 'x'.ljust(10**9) }}", "ljust() width"),
    "to_bytes": ("{{ (1).to_bytes(10**9, 'big') }}", "to_bytes() length"),
    "join bomb": ("{{ range(100000)|join('x' * 100000) }}", "join would make"),
    "str.join bomb": ("{{ ('x' * 100000).join(['a'] * 100000) }}", "join() would make"),
    "replace bomb": ("{{ ('x' * 100000)|replace('x', 'y' * 1000) }}", "replace would make"),
    "slice count": ("{{ range(3)|slice(10**9)|list }}", "slice count"),
    "concat doubling": ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                        "{% endfor %}{{ ns.s|length }}", "exceeds the limit of 8,000,000"),
    "list growth": ("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
                    "{% set ns.l = ns.l + ['y' * 1000000] %}{% endfor %}", "characters and items in all"),
    "int squaring": ("{% set ns = namespace(x=3) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}"
                     "{% endfor %}", "bits"),
    "literal text in a macro": ("{% macro m() %}{% for i in range(100000) %}{% for j in range(1000) %}"
                                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}"
                                "{% endmacro %}{{ m() }}", "output exceeds 8,000,000 characters"),
    "wordwrap": ("{{ ('x ' * 100000)|wordwrap(1, wrapstring='y' * 1000) }}", "wordwrap would make"),
    "tojson indent": ("{{ range(1000)|list|tojson(indent=10**6) }}", "tojson indent 1,000,000 exceeds the limit of 100"),
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.fixture
def theme(tmp_path) -> Path:
    proc = run_cli("theme", "new", "hostile", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    return tmp_path / "hostile"


def compile_with(theme: Path, tmp_path: Path, template: str) -> subprocess.CompletedProcess:
    (theme / "templates").mkdir(exist_ok=True)  # a theme extending the base has none of its own
    (theme / "templates" / "work.xml.j2").write_text("{# hostile #}\n" + template + "\n")
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "resumec", "compile", str(SAMPLES / "full.json"), "--theme", str(theme),
         "-o", str(tmp_path / "out") + "/", "--format", "docx", "--no-cache"],
        capture_output=True, env=env, preexec_fn=_limit_memory, timeout=180,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_template_ends_in_a_located_error(theme, tmp_path, name):
    template, message = CASES[name]
    proc = compile_with(theme, tmp_path, template)
    err = proc.stderr.decode()
    assert proc.returncode == 1, (name, err)
    assert "hostile/templates/work.xml.j2:2: " in err, err
    assert message in err, err
    assert "Traceback" not in err and "MemoryError" not in err, err
    assert not (tmp_path / "out").exists()


def test_ordinary_template_features_still_work(theme, tmp_path):
    template = ("{% set ns = namespace(n=0) %}{% for job in items %}{% set ns.n = ns.n + 1 %}{% endfor %}"
                "<p>{{ '%-5s|%5.1f' % ('ab', 2.25) }} {{ '{:>4}'.format(7) }} {{ 'ab'|center(6) }}|"
                " {{ [1, 2]|join(', ') }} {{ 'x' * 3 }} {{ 2 ** 10 }} {{ ns.n }} {{ 'a-b'|replace('-', '+') }}"
                " {{ ('w ' * 3)|wordwrap(2) }} {{ [1,2,3]|slice(2)|list|length }} {{ lipsum(1, false, 3, 5)|length > 0 }}"
                " {% for x in items recursive %}{{ loop.index }}{% endfor %}</p>")
    proc = compile_with(theme, tmp_path, template)
    assert proc.returncode == 0, proc.stderr.decode()
    import docx

    text = "\n".join(p.text for p in docx.Document(str(tmp_path / "out" / "full.docx")).paragraphs)
    # (markup collapses runs of spaces; the sample has three jobs; wordwrap's newlines become line breaks)
    assert "ab | 2.2 7 ab | 1, 2 xxx 1024 3 a+b w\nw\nw 2 True 123" in text, text


def test_budget_figures_are_the_documented_ones():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"{budget.TEMPLATE_SECONDS:g} s" in readme
    assert f"{budget.MAX_OUTPUT:,}" in readme


def test_the_budget_filters_cannot_be_named_by_a_template(theme, tmp_path):
    """The filter that marks template text as markup must not become a `safe` for résumé data."""
    for name in (budget.DATA_FILTER, budget.ITER_FILTER, budget.SIZE_FILTER):
        assert not name.isidentifier()
    proc = compile_with(theme, tmp_path, "<p>{{ basics.name|resumec_budget_data }}</p>")
    assert proc.returncode == 1 and "No filter named 'resumec_budget_data'" in proc.stderr.decode()
