"""Logistic regression's mean loss, the README's Hessian example:

    symdiff hessian examples/logistic.py:logistic --shape w=d --shape X=n,d --shape y=n
"""
import numpy as np


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z)
