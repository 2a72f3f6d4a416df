"""A softmax classifier with one hidden layer, its parameters in a dict, trained on integer labels.

Plain NumPy and SciPy: no symdiff import needed to run the model. Print its gradient module (the
parameters' shapes are given leaf by leaf, by their path in the dict):

    symdiff grad examples/classifier.py:loss --shape params.W1=d,h --shape params.b1=h \\
        --shape params.W2=h,k --shape params.b2=k --shape X=n,d --shape y=n:int64

Run it to train the classifier with ``symdiff.grad(loss)`` on a toy problem (three blobs).
"""
import numpy as np
from scipy.special import logsumexp


def init(d, h, k, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(d, h)) / np.sqrt(d), "b1": np.zeros(h),
            "W2": rng.normal(size=(h, k)) / np.sqrt(h), "b2": np.zeros(k)}


def loss(params, X, y):
    """Mean cross-entropy of the softmax of a two-layer network's logits against the labels ``y``."""
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(X.shape[0]), y])


def main():
    import symdiff
    rng = np.random.default_rng(1)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, size=300)
    X = centers[y] + 0.6 * rng.normal(size=(300, 2))
    params = init(2, 16, 3)
    value_and_grad = symdiff.value_and_grad(loss)
    for step in range(201):
        value, grads = value_and_grad(params, X, y)
        params = {name: p - 0.5 * grads[name] for name, p in params.items()}
        if step % 50 == 0:
            print(f"step {step:3d}  loss {value:.4f}")
    h = np.tanh(X @ params["W1"] + params["b1"])
    accuracy = np.mean(np.argmax(h @ params["W2"] + params["b2"], axis=1) == y)
    print(f"training accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
