"""Compiled code never outlives the values it was made from: globals, closure cells, module
attributes, ``self``'s attributes, defaults of helpers. A changed value compiles (or finds) code
for the new value; a restored one finds the old code again; the environment is refused."""
import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symdiff
from symdiff.runtime import freshness as freshness, snapshots

W = np.array([0.5, -1.0, 2.0])
LAM = 0.1
ARR = np.array([1.0, 2.0, 3.0])
COEFS = [1.0, 2.0]


def central(f, w, eps=1e-6):
    """The gradient of ``f`` at ``w`` by central differences."""
    out = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = eps
        out[i] = (f(w + e) - f(w - e)) / (2 * eps)
    return out


def check(g, f, w=W):
    got = g(w)
    assert np.allclose(got, central(f, w), atol=1e-6), (got, central(f, w))
    return g.cache_info


def reg(w):
    return LAM * np.sum(w ** 2)


def test_a_rebound_global_float_recompiles_and_a_restored_one_hits_memory():
    global LAM
    g = symdiff.grad(reg)
    try:
        assert check(g, reg) == "compiled"
        assert check(g, reg) == "memory"
        LAM = 1.0
        assert check(g, reg) == "compiled"
        LAM = float("0.1")  # equal to the first value, another object: the first code again
        assert check(g, reg) == "memory"
        assert np.allclose(g(W), 0.2 * W)
    finally:
        LAM = 0.1


def test_a_rebound_closure_cell_recompiles():
    lam = 2.0

    def f(w):
        return lam * np.sum(np.sin(w))

    def set_lam(v):
        nonlocal lam
        lam = v

    g = symdiff.grad(f)
    assert check(g, f) == "compiled"
    set_lam(5.0)
    assert check(g, f) == "compiled" and np.allclose(g(W), 5.0 * np.cos(W))


def with_array(w):
    return np.sum(ARR * w ** 2)


def test_a_global_array_mutated_in_place_recompiles():
    g = symdiff.grad(with_array)
    try:
        assert check(g, with_array) == "compiled"
        ARR[1] = 10.0
        assert check(g, with_array) == "compiled" and np.allclose(g(W), 2 * ARR * W)
        ARR[1] = 2.0
        assert check(g, with_array) == "memory"
    finally:
        ARR[:] = [1.0, 2.0, 3.0]


def with_list(w):
    return COEFS[0] * np.sum(w) + COEFS[1] * np.sum(w ** 2)


def test_a_global_list_mutated_in_place_recompiles():
    g = symdiff.grad(with_list)
    try:
        assert check(g, with_list) == "compiled"
        COEFS[1] = 7.0
        assert check(g, with_list) == "compiled" and np.allclose(g(W), 1.0 + 14.0 * W)
    finally:
        COEFS[:] = [1.0, 2.0]


@pytest.fixture
def helpers(tmp_path, monkeypatch):
    """A module ``sd_helpers`` in its own file, imported; returns (module, rewrite(scale, factor))."""
    path = tmp_path / "sd_helpers.py"

    def write(scale, factor):
        path.write_text(f"import numpy as np\nSCALE = {scale}\ndef part(x):\n    return {factor} * np.sin(x)\n")
        os.utime(path, ns=(1, 10**9 * (int(scale * 10) + int(factor * 100))))  # a new mtime for each edit
    write(2.0, 1.0)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("sd_helpers", None)
    mod = importlib.import_module("sd_helpers")
    yield mod, write
    sys.modules.pop("sd_helpers", None)


def test_attributes_of_another_module_edited_in_its_file_and_reloaded(helpers):
    mod, write = helpers

    def f(w):
        return mod.SCALE * np.sum(mod.part(w))

    g = symdiff.grad(f)
    assert check(g, f) == "compiled" and np.allclose(g(W), 2.0 * np.cos(W))
    write(3.0, 1.0)
    importlib.reload(mod)
    assert check(g, f) == "compiled" and np.allclose(g(W), 3.0 * np.cos(W))
    write(3.0, 4.0)  # the helper function's body changed
    importlib.reload(mod)
    assert check(g, f) == "compiled" and np.allclose(g(W), 12.0 * np.cos(W))
    mod.SCALE = 0.5  # assigned from outside
    assert check(g, f) == "compiled" and np.allclose(g(W), 2.0 * np.cos(W))


class Model:
    def __init__(self, w):
        self.w = w
        self.scale = 1.0

    def loss(self, x):
        return self.scale * np.sum(self.w * x ** 2)


def test_attributes_of_self_of_a_bound_method():
    m = Model(np.array([1.0, 2.0, 3.0]))
    g = symdiff.grad(m.loss)
    assert check(g, m.loss) == "compiled"
    m.w[0] = 5.0  # in place
    assert check(g, m.loss) == "compiled" and np.allclose(g(W), 2 * m.w * W)
    m.scale = 3.0  # rebound
    assert check(g, m.loss) == "compiled" and np.allclose(g(W), 6 * m.w * W)
    m.extra = 1.0  # a new attribute: compiled again, never wrong
    assert np.allclose(g(W), 6 * m.w * W)


def test_a_default_of_a_helper_mutated_in_place():
    weights = np.array([1.0, 1.0, 1.0])

    def helper(x, c=weights):
        return np.sum(c * x ** 2)

    def f(w):
        return helper(w)

    g = symdiff.grad(f)
    assert check(g, f) == "compiled"
    weights[2] = 4.0
    assert check(g, f) == "compiled" and np.allclose(g(W), 2 * weights * W)


def test_a_rebound_helper_function():
    def a(x):
        return np.sum(x ** 2)

    def b(x):
        return np.sum(x ** 3)

    box = {"h": a}
    helper = a

    def f(w):
        return helper(w)

    g = symdiff.grad(f)
    assert check(g, f) == "compiled"
    helper = b  # noqa: F841 - read by f through its closure
    assert check(g, f) == "compiled" and np.allclose(g(W), 3 * W ** 2)
    assert box


def test_reading_the_environment_is_refused():
    def f(w):
        return float(os.environ.get("SD_SCALE", "1")) * np.sum(w)

    def h(w):
        return float(os.getenv("SD_SCALE", "1")) * np.sum(w)

    for fn in (f, h):
        with pytest.raises(symdiff.EnvironmentReadError, match="environment") as info:
            symdiff.grad(fn)(W)
        assert fn.__name__ in str(info.value) and "argument" in str(info.value)


def test_the_hot_path_checks_the_values():
    global LAM
    g = symdiff.grad(reg)
    try:
        g(W), g(W)
        assert g._hot is not None and g._reads.fresh()
        LAM = 3.0
        assert not g._reads.fresh() and g._reads.changed() == ["reg: global LAM"]
        assert np.allclose(g(W), 6.0 * W)
    finally:
        LAM = 0.1


RUNNER = textwrap.dedent("""
    import json, sys, importlib.util
    import numpy as np
    import symdiff
    spec = importlib.util.spec_from_file_location("user_model", sys.argv[1])
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    g = symdiff.grad(mod.loss, wrt="w")
    out = []
    for step in sys.argv[2:]:
        if step.startswith("scale="):
            mod.SCALE[0] = float(step[6:])
        else:
            dw = g(np.ones(int(step)), np.arange(float(step)))
            out.append({"cache": g.cache_info, "dw": dw.tolist()})
    print(json.dumps(out))
""")


def run(model, *steps):
    done = subprocess.run([sys.executable, "-c", RUNNER, str(model), *steps], capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_cache_poisoning_by_a_global_mutated_before_a_new_signature(tmp_path):
    model = tmp_path / "model.py"
    model.write_text("import numpy as np\nSCALE = np.array([2.0])\n"
                     "def loss(x, w):\n    return np.sum(np.sin(w) * x) * SCALE[0]\n")
    # first process: compile for length 3, then mutate the global, then compile for a 1-element call
    first = run(model, "3", "scale=5.0", "1")
    assert first[1]["cache"] == "compiled" and np.allclose(first[1]["dw"], 5.0 * np.cos(0.0))
    # a fresh process with the original global must get the gradient for 2.0, for both signatures
    second = run(model, "1", "3")
    assert np.allclose(second[0]["dw"], 2.0 * np.cos(np.arange(1.0)))
    assert np.allclose(second[1]["dw"], 2.0 * np.cos(np.arange(3.0)))
    assert second[1]["cache"] == "disk"
    # and with the mutated value, it finds the code compiled for it
    third = run(model, "scale=5.0", "1")
    assert third[0]["cache"] == "disk" and np.allclose(third[0]["dw"], 5.0)


def test_collect_records_what_the_function_reads():
    reads = freshness.collect(with_array)
    labels = [item[0] for item in reads.items]
    assert "with_array: global ARR" in labels and "with_array: global np" in labels
    assert reads.fresh() and reads.disk is not None


@pytest.mark.parametrize("size", [5, 20_000, 200_000])  # bytes, a copy, a digest (limits lowered below)
def test_arrays_of_every_size_are_checked_by_content(monkeypatch, size):
    monkeypatch.setattr(snapshots, "BYTES_LIMIT", 1000)
    monkeypatch.setattr(snapshots, "COPY_LIMIT", 1_000_000)
    big = np.ones(size)
    big[0] = np.nan  # NaN equals itself here: no endless recompiling

    def f(w):
        return big[1] * np.sum(w ** 2)

    g = symdiff.grad(f)
    assert check(g, f) == "compiled"
    assert check(g, f) == "memory"
    big[1] = 4.0
    assert check(g, f) == "compiled" and np.allclose(g(W), 8.0 * W)


CALLS = [0]


def counting(w):
    CALLS[0] += 1
    return np.sum(w ** 2)


def test_a_function_changing_what_it_reads_is_compiled_again_with_a_warning():
    g = symdiff.grad(counting)
    with pytest.warns(UserWarning, match="compiles its gradient again on every call"):
        assert np.allclose(g(W), 2 * W)
    assert np.allclose(g(W), 2 * W) and g.cache_info == "compiled"


def test_a_partial_of_a_helper():
    import functools
    factor = np.array([2.0])

    def helper(x, c):
        return c[0] * np.sum(x ** 2)

    part = functools.partial(helper, c=factor)

    def f(w):
        return part(w)

    g = symdiff.grad(f)
    assert check(g, f) == "compiled"
    factor[0] = 5.0
    assert check(g, f) == "compiled" and np.allclose(g(W), 10.0 * W)


def test_installed_packages_and_the_standard_library_are_taken_as_fixed():
    import json as stdlib_module
    assert freshness._library(stdlib_module) and freshness._library(np)
    assert not freshness._library(sys.modules[__name__])


class Layer:
    def __init__(self, scale):
        self.scale = scale


LAYERS = [Layer(1.0)]


def layered(w):
    return sum(layer.scale for layer in LAYERS) * np.sum(w ** 2)


def test_a_global_list_of_objects_appended_to_and_changed():
    g = symdiff.grad(layered)
    try:
        assert check(g, layered) == "compiled"
        LAYERS.append(Layer(2.0))  # the list's content (objects compared by identity)
        assert check(g, layered) == "compiled" and np.allclose(g(W), 6.0 * W)
        LAYERS[0].scale = 4.0  # an attribute of an object in it
        assert check(g, layered) == "compiled" and np.allclose(g(W), 12.0 * W)
    finally:
        LAYERS[:] = [Layer(1.0)]


class Config:
    LAM = 2.0


def with_class_attribute(w):
    return Config.LAM * np.sum(w ** 2)


def test_a_class_attribute_rebound():
    g = symdiff.grad(with_class_attribute)
    try:
        assert check(g, with_class_attribute) == "compiled"
        Config.LAM = 3.0
        assert check(g, with_class_attribute) == "compiled" and np.allclose(g(W), 6.0 * W)
    finally:
        Config.LAM = 2.0


def test_a_transform_of_a_transform_follows_the_inner_function_s_globals():
    global LAM
    h = symdiff.hessian(reg)
    try:
        assert np.allclose(h(W), 0.2 * np.eye(3))
        LAM = 2.0
        assert np.allclose(h(W), 4.0 * np.eye(3)) and h.cache_info == "compiled"
        gg = symdiff.jacobian(symdiff.grad(reg))
        assert np.allclose(gg(W), 4.0 * np.eye(3))
        LAM = 0.5
        assert np.allclose(gg(W), 1.0 * np.eye(3))
    finally:
        LAM = 0.1


class Scaled:
    factor = np.array([1.0])

    def __init__(self, x):
        self.x = x

    def __mul__(self, other):
        return self.factor[0] * other * self.x


def with_dunder(w):
    return np.sum(Scaled(w) * w)


def test_a_class_attribute_read_by_a_dunder_method_mutated_in_place():
    g = symdiff.grad(with_dunder)
    try:
        assert check(g, with_dunder) == "compiled"
        Scaled.factor[0] = 3.0
        assert check(g, with_dunder) == "compiled" and np.allclose(g(W), 6.0 * W)
    finally:
        Scaled.factor[0] = 1.0


def test_objects_of_installed_packages_are_not_hashed_for_the_disk():
    import fractions
    frac = fractions.Fraction(1, 2)

    def f(w):
        return float(frac) * np.sum(w)

    reads = freshness.collect(f)
    assert reads.disk is None and reads.fresh()  # a Fraction is only compared by identity, in this process
    g = symdiff.grad(f)
    assert np.allclose(g(W), 0.5) and g.cache_info == "compiled"


OFFSET = [1.0]


def test_a_helper_behind_a_library_wrapper_is_followed():
    import functools

    @functools.lru_cache(maxsize=None)
    def offset():
        return OFFSET[0]

    def f(w):
        offset.cache_clear()
        return offset() * np.sum(w ** 2)

    labels = [item[0] for item in freshness.collect(f).items]
    assert any("OFFSET" in label for label in labels), labels
