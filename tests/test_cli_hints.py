"""The command line's common slips get a hint naming the option that fixes them; ``--verbose`` prints the
compiler's stages and their times; a long compilation shows its stage on a terminal."""
from __future__ import annotations

import io
import time

import pytest

from symdiff.cli import main
from symdiff.runtime.progress import Listener, listening, stage

SLIPS = '''\
import numpy as np


def loss(x, w):
    return np.sum(np.tanh(x @ w))


def rows(x):
    return np.sum(x[0] * x)


def loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x) * i
    return np.sum(s)


def net(params, x):
    return np.sum(np.tanh(x @ params["W1"]))


def mean_shape(x):
    return np.sum(x ** 2) / x.shape[0]
'''


@pytest.fixture
def slips(tmp_path):
    path = tmp_path / "slips.py"
    path.write_text(SLIPS)
    return str(path)


def _error(capsys, argv):
    assert main(argv) == 1
    return capsys.readouterr().err


@pytest.mark.parametrize("target, options, expected", [
    ("loss", ["--wrt", "w", "--shape", "w=3"], "x is traced as a float scalar (no --shape for it); pass --shape x=n"),
    ("rows", [], "hint: x is traced as a scalar (no --shape for it); if it is an array, pass --shape x=n"),
    ("mean_shape", [], "pass --shape x=n"),
    ("loop", ["--shape", "x=3"], "hint: n is traced as a float scalar (no --shape or --static for it), but "
                                 "`for i in range(n):` needs an int; pass --static n=10"),
    ("net", ["--wrt", "params", "--shape", "x=3"], "argument 'params' of net is read as a container "
                                                    "(params['W1']) but no shapes were given"),
])
def test_common_slips_get_a_hint(capsys, slips, target, options, expected):
    err = _error(capsys, ["grad", f"{slips}:{target}", *options])
    assert err.startswith("symdiff grad: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_no_hint_when_every_argument_is_declared(capsys, slips):
    err = _error(capsys, ["grad", f"{slips}:loop", "--shape", "x=3", "--static", "n=2.5"])
    assert "hint:" not in err  # (a usage error of --static itself)
    assert main(["grad", f"{slips}:loop", "--shape", "x=3", "--static", "n=2"]) == 0
    assert "hint:" not in capsys.readouterr().err


def test_verbose_prints_the_stages(capsys, slips):
    assert main(["grad", f"{slips}:loss", "--shape", "x=3", "--shape", "w=3,2", "--verbose"]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "stages:"
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["trace", "forward", "differentiate", "rewrite", "print", "graph", "other", "total"]
    times = {line.split()[0]: float(line.split("ms")[0].split()[-1]) for line in lines[1:]}
    assert all(t >= 0 for t in times.values())
    assert times["total"] >= sum(t for k, t in times.items() if k != "total") - 0.5  # (rounding)


def test_progress_line_after_the_delay():
    stream = io.StringIO()
    with listening(Listener(stream=stream, after=0.05)) as listener:
        with stage("trace"):
            pass
        time.sleep(0.06)
        with stage("rewrite"):
            pass
        with stage("rewrite"):
            pass
    text = stream.getvalue()
    assert "trace" not in text  # nothing shown before the delay
    assert "\rsymdiff: rewrite (1), " in text and "\rsymdiff: rewrite (2), " in text
    assert text.endswith("\r\033[K")  # the line is cleared at the end
    assert listener.counts == {"trace": 1, "rewrite": 2}


def test_stages_cost_nothing_without_a_listener():
    with stage("trace"):
        pass  # no listener installed: nothing recorded, nothing raised
