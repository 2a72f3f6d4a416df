"""The command line, run as a user would: ``python -m symdiff ...`` in subprocesses.

Successful runs must print (or write, atomically) a module whose gradients match a hand-written
closed form; failing runs must exit non-zero with one paragraph on stderr and no traceback
(unless ``--debug``), and must leave nothing behind in the ``-o`` folder.

Every process start costs about half a second (symdiff imports SymPy), so all the command lines
of this file are listed in ``CALLS`` and started together, a few at a time, by the module-scoped
``cli`` fixture; each test then checks the results of its own calls.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = str(ROOT / "examples" / "model.py")
SEED = ["--wrt", "w,b", "--shape", "x=5", "--shape", "y=3", "--shape", "w=5,3", "--shape", "b=3"]
SEED_SYMBOLIC = ["--wrt", "w,b", "--shape", "x=n", "--shape", "y=k", "--shape", "w=n,k", "--shape", "b=k"]
UMASK = os.umask(0o022)
os.umask(UMASK)

USER = "user_fns.py"
USER_FILE = '''\
import numpy as np


def unwrapped_sum(x):
    return np.sum(np.unwrap(x) * x)


def mismatch(x, w):
    z = x @ w
    return np.sum(z)


def branchy(x):
    if x.sum() > 0:
        return np.sum(x ** 2)
    return np.sum(-x)


def with_aux(x):
    return np.sum(x ** 2), {"norm": np.sqrt(np.sum(x ** 2))}


def loopy(x):
    while x.sum() > 0:
        x = x - 1.0
        x[0] = 0.5 * x[0]  # (an assignment into an array: the loop does not roll)
    return np.sum(x)


def vector_out(x):
    return np.sin(x)


def raises(x):
    raise ValueError("boom from user code")


def tanh_loss(x, w):
    return np.sum(np.tanh(x @ w))
'''

# name -> arguments after ``python -m symdiff``; run with the work folder (holding user_fns.py) as cwd.
CALLS: dict[str, list[str]] = {
    "version": ["--version"],
    "grad-help": ["grad", "--help"],
    "usage-unknown-option": ["grad", f"{USER}:tanh_loss", "--no-such-option"],
    "seed": ["grad", f"{MODEL}:loss", *SEED],
    "seed-symbolic": ["grad", f"{MODEL}:loss", *SEED_SYMBOLIC],
    "seed-o": ["grad", f"{MODEL}:loss", *SEED, "-o", "out-seed-o/sub/loss_grad.py"],
    "graph": ["graph", f"{MODEL}:loss", *SEED],
    "missing-file": ["grad", "no_such_file.py:loss", "--shape", "x=3"],
    "missing-function": ["grad", f"{USER}:nope", "--shape", "x=3"],
    "bad-shape-negative": ["grad", f"{USER}:tanh_loss", "--shape", "x=5,-1", "--shape", "w=5,3"],
    "bad-shape-no-equals": ["grad", f"{USER}:tanh_loss", "--shape", "x5", "--shape", "w=5,3"],
    "unsupported": ["grad", f"{USER}:unwrapped_sum", "--shape", "x=4", "-o", "out-unsupported/g.py"],
    "mismatch": ["grad", f"{USER}:mismatch", "--wrt", "w", "--shape", "x=3", "--shape", "w=4,2"],
    "branch": ["grad", f"{USER}:branchy", "--shape", "x=3", "-o", "out-branch-ok/g.py"],
    "has-aux": ["grad", f"{USER}:with_aux", "--shape", "x=3", "--has-aux", "-o", "out-branch-ok/aux.py"],
    "traced-loop": ["grad", f"{USER}:loopy", "--shape", "x=3", "-o", "out-branch/g.py"],
    "non-scalar": ["grad", f"{USER}:vector_out", "--shape", "x=3"],
    "import-fails": ["grad", "broken.py:f", "--shape", "x=3"],
    "debug": ["grad", f"{USER}:unwrapped_sum", "--shape", "x=4", "--debug"],
    "o-is-folder": ["grad", f"{MODEL}:loss", *SEED, "-o", "out-o-is-folder/a_folder"],
    "user-raises": ["grad", f"{USER}:raises", "--shape", "x=3"],
}


def _prepare(work: Path) -> None:
    (work / USER).write_text(USER_FILE)
    (work / "broken.py").write_text("def f(:\n    pass\n")
    for name in ("seed-o", "unsupported", "branch", "branch-ok", "o-is-folder"):
        (work / f"out-{name}").mkdir()
    (work / "out-branch" / "g.py").write_text("# previous version\n")  # a failed run must keep it
    (work / "out-o-is-folder" / "a_folder").mkdir()


def _run(args: list[str], work: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["SYMDIFF_CACHE_DIR"] = str(work / "cli-cache")
    return subprocess.run([sys.executable, "-m", "symdiff", *args], capture_output=True, text=True,
                          env=env, cwd=work, timeout=120, check=False)


class Results:
    """The finished processes of ``CALLS``, by name, and the folder they ran in."""

    def __init__(self, work: Path, futures: dict[str, Future]) -> None:
        self.work = work
        self._futures = futures

    def __getitem__(self, name: str) -> subprocess.CompletedProcess:
        return self._futures[name].result()


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    _prepare(work)
    with ThreadPoolExecutor(max_workers=max(2, min(6, (os.cpu_count() or 2) + 1))) as pool:
        futures = {name: pool.submit(_run, args, work) for name, args in CALLS.items()}
        yield Results(work, futures)


def _line_of(path: Path, text: str) -> int:
    """1-based number of the first line of ``path`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _seed_reference(x, y, w, b):
    """Hand-derived gradient of the seed loss: dz = (sigmoid(z) - y)/k, dw = outer(x, dz), db = dz."""
    z = x @ w + b
    value = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (1.0 / (1.0 + np.exp(-z)) - y) / z.shape[0]
    return value, np.outer(x, dz), dz


def _exec_module(text: str) -> dict:
    namespace: dict = {"__name__": "cli_generated"}
    exec(compile(text, "<cli output>", "exec"), namespace)  # noqa: S102 -- running the printed module is the test
    return namespace


def _check_seed_module(namespace: dict, n: int, k: int) -> None:
    rng = np.random.default_rng(n * 100 + k)
    x, y, w, b = rng.normal(size=n), rng.uniform(size=k), rng.normal(size=(n, k)), rng.normal(size=k)
    value, dw_ref, db_ref = _seed_reference(x, y, w, b)
    dw, db = namespace["loss_grad"](x, y, w, b)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, rtol=1e-10, atol=1e-12)
    v, (dw2, db2) = namespace["loss_value_and_grad"](x, y, w, b)
    np.testing.assert_allclose(v, value, rtol=1e-12)
    np.testing.assert_allclose(dw2, dw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db2, db_ref, rtol=1e-10, atol=1e-12)


def _clean_error(proc: subprocess.CompletedProcess, command: str = "grad") -> str:
    """stderr of a run that failed the documented way: exit 1, one paragraph, no traceback."""
    err = proc.stderr
    assert proc.returncode == 1, (proc.returncode, err)
    assert err.startswith(f"symdiff {command}: error:"), err
    assert "Traceback" not in err, err
    assert "\n\n" not in err.strip(), f"not one paragraph: {err!r}"
    assert proc.stdout == "", proc.stdout
    return err


# ---- --version, --help, usage errors ----

def test_version(cli):
    proc = cli["version"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "symdiff 0.1.0"


def test_grad_help_lists_the_options(cli):
    proc = cli["grad-help"]
    assert proc.returncode == 0, proc.stderr
    for option in ("--wrt", "--shape", "--debug", "-o"):
        assert option in proc.stdout, option


def test_usage_error_exits_2(cli):
    proc = cli["usage-unknown-option"]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "usage:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


# ---- successful runs ----

def test_grad_prints_a_working_module(cli):
    proc = cli["seed"]
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    text = proc.stdout
    assert "def loss_grad(" in text and "def loss_value_and_grad(" in text
    namespace = _exec_module(text)
    _check_seed_module(namespace, 5, 3)
    _check_seed_module(namespace, 40, 7)  # the printed code is not tied to the traced sizes


def test_grad_with_symbolic_sizes(cli):
    proc = cli["seed-symbolic"]
    assert proc.returncode == 0, proc.stderr
    namespace = _exec_module(proc.stdout)
    for n, k in ((2, 1), (9, 4), (300, 5)):
        _check_seed_module(namespace, n, k)


def test_output_file_is_written_and_matches_stdout(cli):
    proc = cli["seed-o"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # the module goes to the file, not to stdout
    out = cli.work / "out-seed-o" / "sub" / "loss_grad.py"  # missing folders are created
    assert out.is_file()
    assert [p.name for p in out.parent.iterdir()] == ["loss_grad.py"]  # no temporary file left over
    assert cli["seed"].returncode == 0
    # the same module; only the header's command line differs (it names the file it writes)
    regenerate = re.compile(r"^Regenerate \(from this file's folder\): symdiff grad(.*(?:\n    .*)*)$", re.M)
    written, printed = out.read_text(), cli["seed"].stdout
    assert regenerate.sub("", written) == regenerate.sub("", printed)
    line = " ".join(part.strip() for part in regenerate.search(written).group(1).split("\n"))
    assert line.endswith("-o loss_grad.py") and "../../" in line  # the source, from the module's folder
    _check_seed_module(_exec_module(out.read_text()), 5, 3)


def test_graph_prints_traced_and_gradient_graphs(cli):
    proc = cli["graph"]
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "def " not in out  # a graph, not the module
    assert "traced graph" in out.lower()
    assert "gradient" in out.lower()
    assert "z = x @ w + b" in out  # nodes are annotated with the user's source line
    assert "dw" in out and "db" in out
    first, _, second = out.strip().partition("\n\n")  # the traced graph, then the larger gradient graph
    assert second.strip(), out
    assert len(second.splitlines()) > len(first.splitlines())


# ---- errors: exit 1, one paragraph on stderr, no traceback ----

def test_missing_file(cli):
    assert "no_such_file.py" in _clean_error(cli["missing-file"])


def test_missing_function_names_the_available_ones(cli):
    err = _clean_error(cli["missing-function"])
    assert "'nope'" in err
    assert "tanh_loss" in err  # says what the file does define


@pytest.mark.parametrize("name, shown", [("bad-shape-negative", "-1"), ("bad-shape-no-equals", "x5")])
def test_bad_shape_spec(cli, name, shown):
    assert shown in _clean_error(cli[name])


def test_unsupported_numpy_function_names_it_and_the_user_line(cli):
    err = _clean_error(cli["unsupported"])
    assert "np.unwrap" in err
    assert f"{USER}:{_line_of(cli.work / USER, 'np.unwrap')}" in err
    assert list((cli.work / "out-unsupported").iterdir()) == []  # -o: no file, no temporary file


def test_shape_mismatch_names_the_user_line(cli):
    err = _clean_error(cli["mismatch"])
    assert f"{USER}:{_line_of(cli.work / USER, 'z = x @ w')}" in err
    assert "3" in err and "4" in err


def test_branch_on_traced_value_gives_code_for_both_sides(cli):
    result = cli["branch"]
    assert result.returncode == 0, result.stderr
    path = cli.work / "out-branch-ok" / "g.py"
    text = path.read_text()
    assert "if _branchy_branch_0(x):" in text and "# if x.sum() > 0:" in text
    spec = importlib.util.spec_from_file_location("branch_ok", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.array([0.5, -0.2, 1.0])
    np.testing.assert_allclose(module.branchy_grad(x), 2 * x)  # sum > 0: the gradient of sum(x**2)
    np.testing.assert_allclose(module.branchy_grad(-x), -np.ones(3))  # the other side: of sum(-x)


def test_has_aux_from_the_command_line(cli):
    result = cli["has-aux"]
    assert result.returncode == 0, result.stderr
    spec = importlib.util.spec_from_file_location("aux_cli", cli.work / "out-branch-ok" / "aux.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.array([3.0, 0.0, 4.0])
    g, aux = module.with_aux_grad(x)
    np.testing.assert_allclose(g, 2 * x)
    np.testing.assert_allclose(aux["norm"], 5.0)


def test_loop_on_traced_value_is_refused_and_keeps_the_old_file(cli):
    err = _clean_error(cli["traced-loop"])
    assert "np.where" in err and "branches on traced values" in err
    assert f"{USER}:{_line_of(cli.work / USER, 'while x.sum() > 0')}" in err
    folder = cli.work / "out-branch"  # -o: the previous file is kept as it was, nothing is added
    assert [p.name for p in folder.iterdir()] == ["g.py"]
    assert (folder / "g.py").read_text() == "# previous version\n"


def test_non_scalar_output(cli):
    assert "scalar" in _clean_error(cli["non-scalar"])


def test_file_that_fails_to_import(cli):
    err = _clean_error(cli["import-fails"])
    assert "broken.py" in err and "SyntaxError" in err


def test_debug_shows_the_traceback(cli):
    proc = cli["debug"]
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "UnsupportedError" in proc.stderr and "np.unwrap" in proc.stderr


# ---- -o is atomic: a failed run leaves nothing behind ----

def test_output_path_that_is_a_folder_leaves_no_temp_file(cli):
    proc = cli["o-is-folder"]
    assert proc.returncode != 0
    folder = cli.work / "out-o-is-folder"
    assert [p.name for p in folder.iterdir()] == ["a_folder"]
    assert list((folder / "a_folder").iterdir()) == []


# ---- regressions: bugs found by these tests, fixed ----

def test_output_path_that_is_a_folder_is_a_clean_error(cli):
    _clean_error(cli["o-is-folder"])


def test_user_function_raising_is_a_clean_error(cli):
    assert "boom from user code" in _clean_error(cli["user-raises"])


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_output_file_mode_follows_the_umask(cli):
    assert cli["seed-o"].returncode == 0
    out = cli.work / "out-seed-o" / "sub" / "loss_grad.py"
    assert out.stat().st_mode & 0o777 == 0o666 & ~UMASK
