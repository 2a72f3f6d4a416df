"""Scalar functions SymPy lacks, with their derivatives and their NumPy printing.

Each is a ``sympy.Function`` subclass: ``fdiff`` gives the derivative (so the reverse pass and any
later pass differentiate through it), ``_numpycode`` prints it in a numerically stable NumPy form.

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> sp.diff(softplus(z), z)
sigmoid(z)
"""
from __future__ import annotations

import sympy as sp

#: Source of helper functions a generated module may need, keyed by helper name.
HELPERS: dict[str, str] = {
    "_sigmoid": '''def _sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)''',
    "_scatter": '''def _scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` placed at ``index`` (gradient of indexing)."""
    out = np.zeros(shape, dtype=np.result_type(g, 1.0))
    out[index] = g
    return out''',
}


class sigmoid(sp.Function):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _numpycode(self, printer):
        return printer.helper_call("_sigmoid", self.args[0])


class softplus(sp.Function):
    """``log(1 + exp(x))``, printed as ``np.logaddexp(0, x)`` (no overflow)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _numpycode(self, printer):
        return f"np.logaddexp(0, {printer._print(self.args[0])})"
