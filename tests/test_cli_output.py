"""The command line's -o, Ctrl-C and argument names: cp-like writes that name the target and leave
nothing behind, one line on an interrupt, and names that Python reads as one kept apart or refused."""
from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symdiff import cli

ROOT = Path(__file__).resolve().parents[1]
SRC = """import numpy as np


def f(x, y):
    return np.mean(x) * np.mean(y ** 2)


def g(x, mode):
    if mode == "square":
        return np.sum(x ** 2)
    return np.sum(x ** 3)
"""
_count = itertools.count()


@pytest.fixture
def user(tmp_path):
    path = tmp_path / "user.py"
    path.write_text(SRC, encoding="utf-8")
    return path


def load(path):
    spec = importlib.util.spec_from_file_location(f"cli_output_{next(_count)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_sizes_equal_after_nfkc_stay_apart(user, tmp_path, capsys):
    out = tmp_path / "f_grad.py"
    rc, _, err = run(capsys, "grad", f"{user}:f", "--wrt", "y", "--shape", "x=\uff4e", "--shape", "y=n", "-o", out)
    assert rc == 0, err
    x, y = np.array([1.0, 2.0]), np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(load(out).f_grad(x, y), np.mean(x) * 2 * y / 3)


def test_argument_names_equal_after_nfkc(user, tmp_path, capsys):
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "\uff58=3", "--shape", "x=3", "--shape", "y=2")
    assert rc == 1 and "given twice" in err and err.count("\n") == 1
    out = tmp_path / "fw.py"
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "\uff58=3", "--shape", "y=2", "-o", out)
    assert rc == 0, err
    np.testing.assert_allclose(load(out).f_grad(np.ones(3), np.ones(2)), np.full(3, 1 / 3))


def test_output_onto_a_read_only_file_is_refused(user, tmp_path, capsys):
    out = tmp_path / "ro.py"
    out.write_text("# mine\n", encoding="utf-8")
    out.chmod(0o444)
    before = listing(tmp_path)
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "x=3", "--shape", "y=2", "-o", out)
    assert rc == 1 and "read-only" in err and str(out) in err
    assert out.read_text(encoding="utf-8") == "# mine\n" and listing(tmp_path) == before


def test_output_onto_a_symlink_writes_through_to_its_target(user, tmp_path, capsys):
    target = tmp_path / "real.py"
    target.write_text("# old\n", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "x=3", "--shape", "y=2", "-o", link)
    assert rc == 0 and "through the symbolic link" in err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.stat().st_mode & 0o777 == 0o640  # as cp: the replaced file keeps its mode
    assert listing(tmp_path) == ["link.py", "real.py", "user.py"]
    np.testing.assert_allclose(load(link).f_grad(np.ones(3), np.ones(2)), np.full(3, 1 / 3))


def test_output_onto_a_dangling_symlink_is_refused(user, tmp_path, capsys):
    link = tmp_path / "dangling.py"
    link.symlink_to(tmp_path / "nowhere.py")
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "x=3", "--shape", "y=2", "-o", link)
    assert rc == 1 and "does not exist" in err
    assert listing(tmp_path) == ["dangling.py", "user.py"]


def test_write_errors_name_the_target_and_leave_nothing(user, tmp_path, capsys, monkeypatch):
    from symdiff.runtime import cache as cache
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)
    monkeypatch.setattr(cache.os, "replace", refuse)
    out = out_dir / "m.py"
    rc, _, err = run(capsys, "grad", f"{user}:f", "--shape", "x=3", "--shape", "y=2", "-o", out)
    assert rc == 1 and str(out) in err and ".tmp" not in err and "Permission denied" in err
    assert listing(out_dir) == []


def test_ctrl_c_in_process_is_one_line_and_130(user, tmp_path, capsys, monkeypatch):
    import symdiff.api

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(symdiff.api, "compile_for_export", interrupted)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rc, out, err = run(capsys, "grad", f"{user}:f", "--shape", "x=3", "-o", out_dir / "m.py")
    assert rc == 130 and out == "" and err.count("\n") == 1 and "interrupted" in err
    assert listing(out_dir) == []


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_ctrl_c_of_the_command_is_one_line_and_130(tmp_path):
    marker = tmp_path / "started"
    slow = tmp_path / "slow.py"
    slow.write_text(f"import pathlib, time\npathlib.Path({str(marker)!r}).write_text('1')\ntime.sleep(60)\n\n\n"
                    "def f(x):\n    return x\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "symdiff", "grad", f"{slow}:f", "-o", str(tmp_path / "o.py")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a test run started in the background inherits SIGINT ignored: give the command
                            # the default a terminal gives it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().count("\n") == 0 and "interrupted" in err, err
    assert listing(tmp_path) == ["slow.py", "started"]


HOSTILE = ['"""\nimport builtins; builtins.SYMDIFF_CANARY = 1\n"""', "C:\\Users\\", "a\u2028\x00b\r", '\\");x=("']


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_static_from_the_command_line(user, tmp_path, capsys, value):
    import builtins
    out = tmp_path / "g.py"
    rc, _, err = run(capsys, "grad", f"{user}:g", "--shape", "x=2", "--static", f"mode={value!r}", "-o", out)
    assert rc == 0, err
    mod = load(out)
    assert not hasattr(builtins, "SYMDIFF_CANARY")
    np.testing.assert_allclose(mod.g_grad(np.array([1.0, 2.0]), value), [3.0, 12.0])


def test_function_name_in_fullwidth_letters_is_found(user, capsys):
    rc, out, err = run(capsys, "grad", f"{user}:\uff46", "--shape", "x=3", "--shape", "y=2")
    assert rc == 0 and "def f_grad(x, y):" in out, err


HOSTILE_NAMES = ['m""";import os;os.system("touch CANARY");""".py', "m\nx'''\\.py"]
BRANCHY = ('import numpy as np\n\n\ndef h(x):\n    if np.sum(x) > 0:  # """ C:\\Users\\x\n'
           "        return np.sum(x ** 2)\n    return np.sum(x ** 3)\n")


@pytest.mark.parametrize("filename", HOSTILE_NAMES)
def test_hostile_file_name_from_the_command_line(tmp_path, capsys, monkeypatch, filename):
    monkeypatch.chdir(tmp_path)
    user = tmp_path / filename
    user.write_text(BRANCHY, encoding="utf-8")
    out = tmp_path / "h_grad.py"
    rc, _, err = run(capsys, "grad", f"{user}:h", "--shape", "x=2", "-o", out)
    assert rc == 0, err
    mod = load(out)
    np.testing.assert_allclose(mod.h_grad(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(mod.h_grad(np.array([-1.0, -2.0])), [3.0, 12.0])
    assert not (tmp_path / "CANARY").exists()
