"""Time and size budgets for theme templates, which may come from strangers.

Jinja2's sandbox stops templates reaching Python internals but not burning
CPU or memory: `range(100000)` nested three deep, `'x' * 10**10`, `7**(10**9)`,
`'x'|center(10**9)` or `lipsum(n=1000000)` hang for minutes or die of
MemoryError. Every render therefore runs under a `Budget`:

- a deadline (TEMPLATE_SECONDS), checked on every loop iteration, call,
  filter, operator, attribute access and output;
- a cap on any single value (MAX_VALUE items or characters, MAX_WIDTH for a
  width, padding or count argument, MAX_INT_BITS for an integer), checked
  *before* the operation that would build it where the size is predictable
  (`*`, `**`, `%`, `+`, center/ljust/…, format widths, join, replace, …);
- a cap on the total produced (MAX_WORK: characters and items made by
  operations, plus loop iterations) and on the output (MAX_OUTPUT characters,
  literal text included, also inside macros), which bounds memory however the
  work is spread.

Loops and literal text have no sandbox hook, so the code generator rewrites
the template tree: every `for` iterates through a counting filter, and
literal text becomes dynamic output that passes `finalize`. The budget of the
render in progress is found through a ContextVar (per thread, per render),
because imported macros run with contexts that carry none of our variables.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator
from jinja2.visitor import NodeTransformer
from jinja2.exceptions import TemplateError
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import Markup

TEMPLATE_SECONDS = 10.0  # per template; the largest valid résumé's slowest template takes ~0.3 s
MAX_OUTPUT = 8_000_000  # characters of markup per template (the largest valid résumé's largest: ~220,000)
MAX_VALUE = 8_000_000  # characters or items in any one value
MAX_WORK = 64_000_000  # characters and items produced by operations, plus loop iterations
MAX_WIDTH = 100_000  # a width, padding, indent, count or slice argument
MAX_INT_BITS = 100_000  # an integer result (~30,000 digits)
MAX_LIPSUM = 100  # paragraphs (and words per paragraph) from lipsum()
MAX_JSON_INDENT = 100  # tojson repeats its indent on every line

# Filters only the code generator uses. The spaces make them impossible to name in a template, so
# DATA_FILTER (which marks text as markup) cannot become a way around the removed `safe` filter.
ITER_FILTER = "resumec budget iter"
DATA_FILTER = "resumec budget data"
SIZE_FILTER = "resumec budget size"


class TemplateBudgetError(TemplateError):
    """A template went over its time or size budget."""


@dataclass
class Budget:
    deadline: float
    output: int = 0
    work: int = 0

    @classmethod
    def start(cls) -> Budget:
        return cls(time.monotonic() + TEMPLATE_SECONDS)

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateBudgetError(f"the template ran longer than its budget of {TEMPLATE_SECONDS:g} s")

    def spend(self, amount: int) -> None:
        self.work += amount
        if self.work > MAX_WORK:
            raise TemplateBudgetError(f"the template produced more than {MAX_WORK:,} characters and items in all")
        self.tick()

    def emit(self, amount: int) -> None:
        self.output += amount
        if self.output > MAX_OUTPUT:
            raise TemplateBudgetError(f"the template's output exceeds {MAX_OUTPUT:,} characters")
        self.tick()


CURRENT: ContextVar[Budget | None] = ContextVar("resumec_template_budget", default=None)


def tick() -> None:
    budget = CURRENT.get()
    if budget is not None:
        budget.tick()


def size(value: Any) -> int:
    """Characters or items in a value (0 for scalars); an integer over MAX_INT_BITS is an error."""
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateBudgetError(f"an integer of {value.bit_length():,} bits exceeds the limit of {MAX_INT_BITS:,}")
    return 0


def produced(value: Any) -> Any:
    """Account for a value an operation produced, and check its size."""
    n = size(value)
    if n > MAX_VALUE:
        raise TemplateBudgetError(f"a value of {n:,} characters or items exceeds the limit of {MAX_VALUE:,}")
    budget = CURRENT.get()
    if budget is not None:
        budget.spend(n)
    return value


def _too_big(what: str, n: int, limit: int = MAX_VALUE, unit: str = "characters or items") -> None:
    if n > limit:
        raise TemplateBudgetError(f"{what} would make {n:,} {unit}; the limit is {limit:,}")


def _width(what: str, value: Any) -> None:
    if isinstance(value, int) and value > MAX_WIDTH:
        raise TemplateBudgetError(f"{what} {value:,} exceeds the limit of {MAX_WIDTH:,}")


# --- operators ----------------------------------------------------------------------------

_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_printf(fmt: Any, args: Any) -> None:
    """`fmt % args`: no width or precision over MAX_WIDTH, literal or given by `*`."""
    if not isinstance(fmt, str):
        return
    star = False
    for match in _PRINTF.finditer(fmt):
        for part in match.groups():
            if part == "*":
                star = True
            elif part:
                _width("a format width or precision of", int(part) if len(part) < 12 else MAX_WIDTH + 1)
    if star:
        values = args if isinstance(args, tuple) else (args,)
        for value in values:
            if isinstance(value, int):
                _width("a format width or precision of", abs(value))


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `**`, `+` and `%` whose result would be over a limit, before computing it."""
    if operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            _too_big(f"{left} ** {right}", left.bit_length() * right, MAX_INT_BITS, "bits")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            _too_big("a product", left.bit_length() + right.bit_length(), MAX_INT_BITS, "bits")
        elif isinstance(right, int) and hasattr(left, "__len__"):
            _too_big(f"{type(left).__name__} * {right:,}", len(left) * right)
        elif isinstance(left, int) and hasattr(right, "__len__"):
            _too_big(f"{left:,} * {type(right).__name__}", len(right) * left)
    elif operator == "+":
        if hasattr(left, "__len__") and hasattr(right, "__len__"):
            _too_big("a concatenation", len(left) + len(right))
    elif operator == "%":
        check_printf(left, right)


# --- method calls -------------------------------------------------------------------------


def _counted(items: Iterable[Any], separator: int, what: str) -> Iterator[Any]:
    """Pass items through, refusing once joining them with the separator would exceed MAX_VALUE."""
    total = 0
    for count, item in enumerate(items):
        total += (len(item) if isinstance(item, (str, bytes)) else 1) + separator
        _too_big(what, total)
        if count % 1024 == 0:
            tick()
        yield item


def _replace_size(s: Any, old: Any, new: Any, count: Any) -> int:
    if not isinstance(s, (str, bytes)) or not isinstance(old, type(s)) or not isinstance(new, type(s)):
        return 0
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * max(0, len(new) - len(old))


def guard_call(obj: Any, args: tuple, kwargs: dict) -> tuple:
    """Check a str/bytes/int method call whose result size follows from its arguments; may replace args."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, (str, bytes)):
        if name in ("center", "ljust", "rjust", "zfill") and args:
            _width(f"{name}() width", args[0])
        elif name == "expandtabs":
            tab = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(tab, int):
                _too_big("expandtabs()", len(owner) * max(tab, 1))
        elif name == "replace" and len(args) >= 2:
            _too_big("replace()", _replace_size(owner, args[0], args[1], args[2] if len(args) > 2 else -1))
        elif name == "join" and args:
            args = (_counted(args[0], len(owner), "join()"), *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
            _too_big("translate()", len(owner) * longest)
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        _width("to_bytes() length", length)
    elif isinstance(obj, LoopContext) and args:  # loop(children) in a recursive for
        args = (iterate(args[0]), *args[1:])
    return args


# --- filters and globals ------------------------------------------------------------------


def _filter_checks() -> dict[str, Callable[[dict[str, Any]], None]]:
    def center(a):
        _width("center() width", a.get("width"))

    def indent(a):
        s, width = a.get("s"), a.get("width")
        if isinstance(s, str):
            pad = width if isinstance(width, int) else len(width) if isinstance(width, str) else 0
            _too_big("indent()", len(s) + (s.count("\n") + 1) * pad)

    def format_(a):
        check_printf(a.get("value"), tuple(a.get("args", ())) or dict(a.get("kwargs", {})))

    def join(a):
        a["value"] = _counted(a.get("value", ()), len(str(a.get("d", ""))), "join")

    def replace(a):
        _too_big("replace", _replace_size(a.get("s"), a.get("old"), a.get("new"), a.get("count")))

    def wordwrap(a):
        s, wrap = a.get("s"), a.get("wrapstring")
        if isinstance(s, str):
            _too_big("wordwrap", len(s) * (1 + (len(wrap) if isinstance(wrap, str) else 1)))

    def slice_(a):
        _width("slice count", a.get("slices"))

    def batch(a):
        _width("batch size", a.get("linecount"))

    def tojson(a):
        indent = a.get("indent")
        if isinstance(indent, int) and indent > MAX_JSON_INDENT:
            raise TemplateBudgetError(f"tojson indent {indent:,} exceeds the limit of {MAX_JSON_INDENT}")

    def join_nonempty(a):
        a["parts"] = _counted(a.get("parts", ()), len(str(a.get("separator", ""))), "join_nonempty")

    return {"center": center, "indent": indent, "format": format_, "join": join, "replace": replace,
            "wordwrap": wordwrap, "slice": slice_, "batch": batch, "tojson": tojson, "join_nonempty": join_nonempty}


_CONTEXT_PARAMS = ("eval_ctx", "context", "environment", "env")


def budgeted_filter(name: str, func: Callable[..., Any],
                    check: Callable[[dict[str, Any]], None] | None) -> Callable[..., Any]:
    """The filter, with the deadline, a size check of its arguments (if any) and of its result."""
    if check is None:
        @wraps(func)
        def plain(*args: Any, **kwargs: Any) -> Any:
            tick()
            return produced(func(*args, **kwargs))

        return plain

    signature = inspect.signature(func)
    params = list(signature.parameters)
    # Jinja passes its context first; some wrappers' signatures (async variants) omit it.
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None and params[0] not in _CONTEXT_PARAMS else 0

    @wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        tick()
        bound = signature.bind(*args[skip:], **kwargs)
        bound.apply_defaults()
        check(bound.arguments)
        return produced(func(*args[:skip], *bound.args, **bound.kwargs))

    return checked


def budget_filters(filters: dict[str, Callable[..., Any]]) -> None:
    """Wrap every filter in place, and add the two the code generator uses."""
    checks = _filter_checks()
    for name, func in list(filters.items()):
        filters[name] = budgeted_filter(name, func, checks.get(name))
    filters[ITER_FILTER] = _iterate_filter
    filters[DATA_FILTER] = _data_filter
    filters[SIZE_FILTER] = _size_filter


# pass_context keeps Jinja2 from running these at compile time (constant folding), outside any budget.
@pass_context
def _iterate_filter(context: Any, value: Any) -> Any:
    return iterate(value)


@pass_context
def _data_filter(context: Any, value: Any) -> Markup:
    return Markup(value)


@pass_context
def _size_filter(context: Any, value: Any) -> Any:
    return produced(value)


def iterate(value: Any) -> Any:
    """What every `for` loop iterates: the same items, each one ticking the budget."""
    budget = CURRENT.get()
    if budget is None:
        return value
    return _iterate(value, budget)


def _iterate(value: Any, budget: Budget) -> Iterator[Any]:
    for item in value:
        budget.spend(1)
        yield item


def capped_lipsum(lipsum: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(lipsum)
    def capped(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:
        for what, value in (("n", n), ("min", min), ("max", max)):
            if isinstance(value, int) and value > MAX_LIPSUM:
                raise TemplateBudgetError(f"lipsum({what}={value:,}): the limit is {MAX_LIPSUM}")
        return lipsum(n=n, html=html, min=min, max=max)

    return capped


def finalize(inner: Callable[[Any], Markup]) -> Callable[[Any], Markup]:
    """The environment's finalize, counting every character of output."""

    def counted(value: Any) -> Markup:
        result = inner(value)
        budget = CURRENT.get()
        if budget is not None:
            budget.emit(len(result))
        return result

    return counted


# --- the sandbox hooks and format strings ----------------------------------------------------


class _WidthCheck:
    def format_field(self, value: Any, format_spec: str) -> Any:
        for digits in re.findall(r"\d+", format_spec):
            _width("a format width or precision of", int(digits) if len(digits) < 12 else MAX_WIDTH + 1)
        return super().format_field(value, format_spec)  # type: ignore[misc]


class CheckedFormatter(_WidthCheck, SandboxedFormatter):
    pass


class CheckedEscapeFormatter(_WidthCheck, SandboxedEscapeFormatter):
    pass


def checked_str_format(env: Any, value: Any) -> Callable[..., str] | None:
    """`str.format`/`format_map` as the sandbox wraps them, with widths checked and the result counted."""
    if not callable(value) or getattr(value, "__name__", None) not in ("format", "format_map"):
        return None
    owner = getattr(value, "__self__", None)
    if not isinstance(owner, str):
        return None
    formatter = (CheckedEscapeFormatter(env, escape=owner.escape) if isinstance(owner, Markup)
                 else CheckedFormatter(env))
    is_map = value.__name__ == "format_map"
    kind = type(owner)

    @wraps(value)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            args, kwargs = (), args[0]
        return produced(kind(formatter.vformat(owner, args, kwargs)))

    return wrapper


# --- the code generator ---------------------------------------------------------------------


class _Rewrite(NodeTransformer):
    """Loops iterate through ITER_FILTER; literal text goes through DATA_FILTER (Markup) so that,
    like any other output, it passes finalize and is counted; `~` results go through SIZE_FILTER."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _wrap(node.iter, ITER_FILTER)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_wrap(child, DATA_FILTER) if isinstance(child, nodes.TemplateData) else child
                      for child in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _wrap(node, SIZE_FILTER)


def _wrap(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class BudgetCodeGenerator(CodeGenerator):
    """Compiles the template tree after _Rewrite has put the budget's hooks in."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        _Rewrite().visit(node)
        super().visit_Template(node, frame)
