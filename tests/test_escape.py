"""Generated code is a security boundary: hostile user text (static values, string arguments, has_aux
keys, file names, source lines, exception messages) never runs, and the module still compiles and works."""
import builtins
import importlib.util
import itertools
import sys

import numpy as np
import pytest

import symdiff
from symdiff import escape
from symdiff.errors import InternalError

CANARY = "SYMDIFF_CANARY"
RUN = f"import builtins; builtins.{CANARY} = 1"
HOSTILE = [
    '"', "'", '"""', "'''", "\\", "end\\", "a\rb", "a\x00b", "a\u2028b", "a\x85b", "a\x0cb", "a\x0bb", "a\nb",
    "# c", "{x}", "{", "}", "{{", "\\N{BULLET}", "C:\\Users\\x", "\x1c\x1d\x1e",
    f'");{RUN};("', f'\\");{RUN};("', f"');{RUN};('", f'"""\n{RUN}\n"""', f"'''\n{RUN}\n'''",
    f"\n{RUN}\n#", f"\r{RUN}\r", f"\\\n{RUN}", f"\u2028{RUN}", '"""' + "\\", "{0}{1}{}%s",
]


@pytest.fixture(autouse=True)
def _no_canary():
    yield
    ran = hasattr(builtins, CANARY)
    if ran:
        delattr(builtins, CANARY)
    assert not ran, "a payload in user text ran as code"


_count = itertools.count()


def load(path):
    spec = importlib.util.spec_from_file_location(f"escape_test_{next(_count)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_module(tmp_path, source, filename="user_fn.py"):
    path = tmp_path / filename
    path.write_text(source, encoding="utf-8")
    return load(path)


def compiles(text, where="<test>"):
    compile(text, where, "exec")
    return True


MODE_SRC = '''import numpy as np


def f(x, mode):
    if mode == "square":
        return np.sum(x ** 2)
    return np.sum(x ** 3)
'''


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_static_value_in_export(tmp_path, value):
    f = user_module(tmp_path, MODE_SRC).f
    out = tmp_path / "out.py"
    source = symdiff.export(f, out, shapes={"x": "n"}, static={"mode": value})
    assert compiles(source)
    mod = load(out)
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(mod.f_grad(x, value), 3 * x ** 2)
    with pytest.raises(ValueError) as info:  # the guard's message holds the value, as a literal
        mod.f_grad(x, value + "!")
    assert repr(value) in str(info.value) or escape.literal(value) in str(info.value)
    # (the module docstring's long lines are wrapped at spaces: compared with whitespace runs as one space)
    assert " ".join(escape.comment(escape.literal(value)).split()) in " ".join(mod.__doc__.split())


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_string_argument_of_the_decorator(tmp_path, value):
    f = user_module(tmp_path, MODE_SRC).f
    x = np.array([0.5, 2.0])
    g = symdiff.grad(f)
    np.testing.assert_allclose(g(x, value), 3 * x ** 2)
    np.testing.assert_allclose(g(x, "square"), 2 * x)
    assert compiles(g.source)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_has_aux_keys_and_values(tmp_path, value):
    src = ("import numpy as np\n\n\ndef f(x, tag):\n"
           "    return np.sum(x ** 2), {tag: np.sum(x), 'tag': tag, (1, tag): 2.5}\n")
    f = user_module(tmp_path, src).f
    x = np.array([1.0, 2.0])
    grad, aux = symdiff.grad(f, has_aux=True)(x, value)
    np.testing.assert_allclose(grad, 2 * x)
    assert aux == {value: 3.0, "tag": value, (1, value): 2.5}
    out = tmp_path / "aux.py"
    symdiff.export(f, out, shapes={"x": (2,)}, static={"tag": value}, has_aux=True)
    grad, aux = load(out).f_grad(x, value)
    assert aux == {value: 3.0, "tag": value, (1, value): 2.5}


def test_has_aux_key_that_is_not_a_literal_is_refused(tmp_path):
    class Key(str):
        def __repr__(self):
            return f"__import__('builtins').__setattr__('{CANARY}', 1)"

    def f(x):
        return np.sum(x), {Key("k"): np.sum(x), "v": Key("v"), "o": object()}

    with pytest.raises(symdiff.SymdiffError, match="has_aux"):
        symdiff.grad(f, has_aux=True)(np.ones(2))

    def g(x):
        return np.sum(x), {Key("k"): np.sum(x), "v": Key("v")}  # str subclasses: as their characters
    grad, aux = symdiff.grad(g, has_aux=True)(np.ones(2))
    assert aux == {"k": 2.0, "v": "v"} and type(list(aux)[0]) is str


BRANCH_SRC = "\n".join([
    "import numpy as np",
    "",
    "",
    "def f(x):",
    '    if np.sum(x) > 0:  # """ {payload} """',
    "        return np.sum(x ** 2)",
    "    if np.sum(x) < -10 and \\",
    "            np.sum(x) > -100:  # C:\\Users\\new\\U0001 \\N{{BULLET}} \'\'\' \\",
    "        return np.sum(x ** 3)",
    "    if np.sum(x) < -1000:",
    "        raise ValueError({message!r})",
    "    return np.sum(3 * x)",
    ""])


@pytest.mark.parametrize("filename", [
    'm""";import os;os.system("touch CANARY");""".py', "m\nimport os\n.py", "m'''\\.py", "m\u2028x\r.py",
    "user_fn.py"])
def test_hostile_source_lines_file_names_and_messages(tmp_path, filename, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = f'"""\n{RUN}\n\'\'\' \\'
    src = BRANCH_SRC.format(payload=f'\\n{RUN}\u2028{RUN}\x0c\x85\x1c{RUN}', message=message)
    try:
        f = user_module(tmp_path, src, filename).f
    except OSError as exc:  # pragma: no cover  (a file system refusing the name)
        pytest.skip(f"file name not allowed here: {exc}")
    out = tmp_path / "branches_out.py"
    source = symdiff.export(f, out, shapes={"x": "n"})
    assert compiles(source)
    mod = load(out)
    for x, grad in [(np.array([1.0, 2.0]), lambda x: 2 * x), (np.array([-20.0, -5.0]), lambda x: 3 * x ** 2),
                    (np.array([-1.0, -2.0]), lambda x: 3 + 0 * x)]:
        np.testing.assert_allclose(mod.f_grad(x), grad(x))
    with pytest.raises(ValueError) as info:
        mod.f_grad(np.array([-2000.0]))
    assert str(info.value) == message
    assert not (tmp_path / "CANARY").exists()
    assert escape.comment(filename) in source
    # the decorator: the same text through the cache folder
    g = symdiff.grad(f)
    np.testing.assert_allclose(g(np.array([-20.0, -5.0])), 3 * np.array([-20.0, -5.0]) ** 2)
    np.testing.assert_allclose(g(np.array([1.0])), [2.0])
    assert not (tmp_path / "CANARY").exists()


def test_a_module_that_does_not_compile_is_an_internal_error_and_is_not_written(tmp_path, monkeypatch):
    from symdiff.backends.numpy import render as codegen
    f = user_module(tmp_path, MODE_SRC).f
    real = codegen.environment

    class Broken:
        def get_template(self, name):
            template = real().get_template(name)

            class T:
                def render(self, **kw):
                    return template.render(**kw) + "\ndef broken(:\n"
            return T()
    monkeypatch.setattr(codegen, "environment", lambda: Broken())
    out = tmp_path / "never.py"
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(InternalError, match="does not compile"):
        symdiff.export(f, out, shapes={"x": (2,)}, static={"mode": "square"})
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cache_refuses_to_import_a_module_that_does_not_compile(tmp_path):
    from symdiff.runtime import cache as cache
    bad = tmp_path / "bad.py"
    bad.write_text(f"{RUN}\ndef f(:\n", encoding="utf-8")
    with pytest.raises(InternalError, match="does not compile"):
        cache.import_file(bad)
    with pytest.raises(InternalError):
        cache.store_module("def f(:\n", "bad")
    assert not list(cache.cache_dir().glob("bad_*")) if cache.cache_dir().exists() else True


def test_escape_functions_round_trip():
    import ast
    for text in HOSTILE:
        assert "\n" not in escape.comment(text) and "\r" not in escape.comment(text)
        assert escape.comment(text).isprintable()
        assert ast.literal_eval(escape.docstring(text)) == text
        assert escape.docstring(text).isprintable()
        assert ast.literal_eval(escape.literal(text)) == text
        assert compiles(f"x = 1  # {escape.comment(text)}\ny = {escape.literal(text)}\n")
    assert escape.literal(np.int64(3)) == "3" and escape.literal(np.float32(0.5)) == "0.5"
    for bad in (object(), [1], (1, 2), 1j, float("nan")):
        with pytest.raises(escape.NotALiteral):
            escape.literal(bad)
    assert escape.default_code(float("nan")) == 'float("nan")' and escape.default_code((1, (2.5,))) == "(1, (2.5,))"
    assert escape.default_code((1, object())) is None
    assert sys.float_info.max < ast.literal_eval(escape.literal(np.inf))


DEFAULTS_SRC = """import enum
import numpy as np


class Color(enum.IntEnum):
    RED = 2


def f(x, a=np.inf, b=np.nan, c=Color.RED, t=(1, 2)):
    return np.sum(np.minimum(x, a) * c)


def g(x, a=-np.inf, b=np.nan, c=Color.RED):
    return np.sum(np.maximum(x, a) * c) + np.where(np.isnan(b), 0.0, b)


def h(x, np, bool, float, sum, ValueError=1.5):
    import numpy
    if numpy.sum(x) > 0:
        return numpy.sum(x * bool * float * ValueError + sum) + np
    return numpy.sum(x ** 2) * np
"""


def test_defaults_that_are_not_literals_give_working_modules(tmp_path):
    f = user_module(tmp_path, DEFAULTS_SRC).f
    out = tmp_path / "defaults.py"
    source = symdiff.export(f, out, shapes={"x": (3,)})
    assert 'def f_grad(x, a=1e999, b=float("nan"), c=2, t=(1, 2)):' in source
    mod = load(out)
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(mod.f_grad(x), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(mod.f_grad(x, 0.0), [0.0, 2.0, 0.0])
    g = user_module(tmp_path, DEFAULTS_SRC, "user_g.py").g
    dg = symdiff.grad(g)
    np.testing.assert_allclose(dg(x), [2.0, 2.0, 2.0])
    assert compiles(dg.source)


def test_parameters_named_like_numpy_or_builtins(tmp_path):
    h = user_module(tmp_path, DEFAULTS_SRC).h
    x = np.array([1.0, 2.0])
    args = (x, 5.0, 2.0, 3.0, 4.0)
    np.testing.assert_allclose(symdiff.grad(h)(*args), [9.0, 9.0])
    np.testing.assert_allclose(symdiff.grad(h)(-x, 5.0, 2.0, 3.0, 4.0), -2 * x * 5.0)
    np.testing.assert_allclose(symdiff.grad(h, wrt="np")(*args), 1.0)
    out = tmp_path / "shadow.py"
    source = symdiff.export(h, out, wrt=("x", "np"), shapes={"x": (2,)})
    assert "def h_grad(x, np, bool, float, sum, ValueError=1.5):" in source
    mod = load(out)
    dx, dnp = mod.h_grad(*args)
    np.testing.assert_allclose(dx, [9.0, 9.0])
    np.testing.assert_allclose(dnp, 1.0)
    dx, dnp = mod.h_grad(-x, 5.0, 2.0, 3.0, 4.0)
    np.testing.assert_allclose(dnp, np.sum(x ** 2))
    value, _ = mod.h_value_and_grad(x, np=5.0, bool=2.0, float=3.0, sum=4.0)
    assert value == pytest.approx(1.5 * 6 * 3 + 8 + 5)


@pytest.mark.parametrize("bad", ["a b", "class", "x\u00b2", 'x"'])
def test_a_generated_name_that_is_not_an_identifier_is_an_internal_error(bad):
    from symdiff.backends.numpy.codegen import Function, ModuleText
    from symdiff.backends.numpy.render import render_module
    header = {"summary": "s", "version": "0", "function": "f", "file": "f.py", "source_hash": "0", "wrt": ["x"],
              "shapes": "", "polymorphic": False}
    for functions in ([Function(bad, ["x"], "doc", ["return x"])], [Function("f", [bad], "doc", ["return 1"])]):
        with pytest.raises(InternalError, match="name"):
            render_module(header, functions, ModuleText())
    assert "def f(x):" in render_module(header, [Function("f", ["x"], "doc", ["return x"])], ModuleText())
