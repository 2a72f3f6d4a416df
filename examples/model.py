"""The seed loss of symdiff's examples, in plain NumPy: no symdiff import needed.

Binary cross entropy with logits, averaged over the outputs, of a single linear layer
``z = x @ w + b`` (the running example of PyTorch's autograd tutorial). The expression
``max(z, 0) - z*y + log1p(exp(-|z|))`` is the overflow-free form of
``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``.

Print its gradient module from the command line:

    symdiff grad examples/model.py:loss --wrt w,b --shape x=5 --shape y=3 --shape w=5,3 --shape b=3
"""
import numpy as np


def loss(x, y, w, b):
    """Mean binary cross entropy with logits of ``z = x @ w + b`` against the targets ``y``."""
    z = x @ w + b
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
