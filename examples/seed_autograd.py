"""The running example of PyTorch's autograd tutorial, done with symdiff.

PyTorch builds a graph while the loss runs and walks it backwards at ``loss.backward()``.
symdiff instead traces the plain NumPy function once, differentiates the trace symbolically,
and writes a NumPy module for the gradient that you can read, print and keep.

    PyTorch                                   symdiff
    ----------------------------------------  ---------------------------------------------
    w = torch.randn(5, 3, requires_grad=True)  symdiff.grad(loss, wrt=("w", "b"))
    loss.backward()                            dw, db = dloss(x, y, w, b)
    w.grad, b.grad                             the arrays the gradient function returns
    z.grad_fn (the recorded graph)             dloss.graph (traced graph and gradient graph)
    z.detach() / with torch.no_grad():         symdiff.stop_gradient(z)
    optimizer.zero_grad()                      not needed: nothing accumulates between calls

Run it with ``python examples/seed_autograd.py``; it prints each step and exits non-zero if
any check fails. ``loss`` below is also a target for the command line:

    symdiff grad examples/seed_autograd.py:loss --wrt w,b --shape x=5 --shape y=3 --shape w=5,3 --shape b=3
"""
from __future__ import annotations

import numpy as np

import symdiff
from symdiff.functions import binary_cross_entropy_with_logits, sigmoid


def loss(x, y, w, b):
    """The tutorial's model: one linear layer ``z = x @ w + b``, then the mean binary cross
    entropy with logits against ``y`` (``torch.nn.functional.binary_cross_entropy_with_logits(z, y)``)."""
    z = np.matmul(x, w) + b
    return binary_cross_entropy_with_logits(z, y)


def section(title: str) -> None:
    print()
    print("=" * 72)
    print(title)
    print("=" * 72)


def central_differences(f, args: dict, name: str, eps: float = 1e-6):
    """d f / d args[name] by central differences, one entry at a time (works for floats and arrays)."""
    value = np.asarray(args[name], dtype=float)
    out = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[index] += eps
        minus[index] -= eps
        f_plus = f(**{**args, name: plus if value.ndim else float(plus)})
        f_minus = f(**{**args, name: minus if value.ndim else float(minus)})
        out[index] = (f_plus - f_minus) / (2 * eps)
    return out if value.ndim else float(out)


def check(label: str, got, want, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    ok = np.allclose(got, want, rtol=rtol, atol=atol)
    print(f"  [{'ok' if ok else 'FAILED'}] {label}")
    assert ok, f"{label}: got {got!r}, expected {want!r}"


def seed_example(rng: np.random.Generator) -> None:
    section("1. The tutorial's example: z = x @ w + b, loss = BCE with logits(z, y)")
    x = np.ones(5)                     # input
    y = np.zeros(3)                    # expected output
    w = rng.standard_normal((5, 3))    # parameters: in PyTorch these get requires_grad=True;
    b = rng.standard_normal(3)         # here they are named in wrt= below instead

    # requires_grad=True on w and b  ->  wrt=("w", "b")
    dloss = symdiff.grad(loss, wrt=("w", "b"))
    # loss.backward(); w.grad, b.grad  ->  one call that returns the gradients
    dw, db = dloss(x, y, w, b)
    # The same loss function still runs on plain arrays, giving the value.
    value = loss(x, y, w, b)

    np.set_printoptions(precision=6, suppress=True)
    print(f"loss = {value:.6f}")
    print("dloss/dw (w.grad) =")
    print(dw)
    print(f"dloss/db (b.grad) = {db}")

    # value_and_grad gives both from one call, sharing the forward work.
    value2, (dw2, db2) = symdiff.value_and_grad(loss, wrt=("w", "b"))(x, y, w, b)

    # The gradient written out by hand: d/dz of mean(softplus(z) - z*y) over 3 outputs.
    z = x @ w + b
    dz = (sigmoid(z) - y) / 3
    dw_hand, db_hand = np.outer(x, dz), dz
    print("checks:")
    check("dw equals the closed form outer(x, (sigmoid(z) - y) / 3)", dw, dw_hand)
    check("db equals the closed form (sigmoid(z) - y) / 3", db, db_hand)
    check("loss equals -mean(y log s + (1 - y) log(1 - s)), s = sigmoid(z)",
          value, -np.mean(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z))))
    check("value_and_grad returns the same value", value2, value)
    check("value_and_grad returns the same dw and db", np.concatenate([dw2.ravel(), db2]),
          np.concatenate([dw.ravel(), db]))
    args = {"x": x, "y": y, "w": w, "b": b}
    check("dw matches central finite differences", dw, central_differences(loss, args, "w"), rtol=1e-6, atol=1e-9)
    check("db matches central finite differences", db, central_differences(loss, args, "b"), rtol=1e-6, atol=1e-9)
    # PyTorch accumulates into .grad until zero_grad(); a symdiff gradient is a pure function.
    dw_again, db_again = dloss(x, y, w, b)
    check("calling the gradient again gives the same arrays (nothing accumulates)",
          np.concatenate([dw_again.ravel(), db_again]), np.concatenate([dw.ravel(), db]), rtol=0, atol=0)

    # What PyTorch keeps in z.grad_fn and walks in backward(): here it is text you can read.
    section("1b. The graph (PyTorch: z.grad_fn, loss.grad_fn.next_functions)")
    print(dloss.graph)

    # Instead of a graph walked at run time, symdiff writes the backward pass out as NumPy code.
    section("1c. The generated gradient code (dloss.source)")
    print(dloss.source)


def scalar_example() -> None:
    section("2. Scalars: z = w*x + b, loss = (z - target)**2")

    def squared_error(w, x, b, target):
        z = w * x + b
        return (z - target) ** 2

    # Floats are traced; a Python int argument would be a fixed constant (so write 3.0, not 3).
    w, x, b, target = 2.0, 3.0, 1.0, 4.0
    dw, db = symdiff.grad(squared_error, wrt=("w", "b"))(w, x, b, target)
    z = w * x + b
    print(f"w={w}, x={x}, b={b}, target={target}: z = {z}, loss = {squared_error(w, x, b, target)}")
    print(f"dloss/dw = {dw}, dloss/db = {db}")
    print("checks:")
    check("dw equals 2*(z - target)*x", dw, 2 * (z - target) * x)
    check("db equals 2*(z - target)", db, 2 * (z - target))
    args = {"w": w, "x": x, "b": b, "target": target}
    check("dw, db match central finite differences",
          [dw, db], [central_differences(squared_error, args, "w"), central_differences(squared_error, args, "b")],
          rtol=1e-6)
    # A single wrt name gives the bare gradient rather than a tuple.
    dw_only = symdiff.grad(squared_error, wrt="w")(w, x, b, target)
    check("grad(..., wrt='w') returns the bare dloss/dw", dw_only, dw)


def stop_gradient_example(rng: np.random.Generator) -> None:
    section("3. stop_gradient (PyTorch: z.detach() / with torch.no_grad())")
    x, y = np.ones(5), np.zeros(3)
    w, b = rng.standard_normal((5, 3)), rng.standard_normal(3)

    # A penalty that is part of the value but, detached, contributes no gradient.
    def penalised(x, y, w, b):
        return loss(x, y, w, b) + 0.1 * np.sum(symdiff.stop_gradient(w) ** 2)

    # w used only through a detached copy: no gradient reaches w at all.
    def w_detached(x, y, w, b):
        z = np.matmul(x, symdiff.stop_gradient(w)) + b
        return binary_cross_entropy_with_logits(z, y)

    dw, db = symdiff.grad(loss, wrt=("w", "b"))(x, y, w, b)
    value_p, (dw_p, db_p) = symdiff.value_and_grad(penalised, wrt=("w", "b"))(x, y, w, b)
    dw_d, db_d = symdiff.grad(w_detached, wrt=("w", "b"))(x, y, w, b)
    print(f"penalised: value = {value_p:.6f} (loss {loss(x, y, w, b):.6f} + penalty {0.1 * np.sum(w ** 2):.6f})")
    print(f"w_detached: dloss/dw =\n{dw_d}")
    print("checks:")
    check("the detached penalty is in the value", value_p, loss(x, y, w, b) + 0.1 * np.sum(w ** 2))
    check("the detached penalty adds nothing to dw", dw_p, dw)
    check("... nor to db", db_p, db)
    check("a weight used only detached gets a zero gradient", dw_d, np.zeros((5, 3)), rtol=0, atol=0)
    check("the gradient of the parameter still attached is unchanged", db_d, db)
    # Finite differences see the penalty (they differentiate the value), the gradient does not:
    # that is exactly what detaching means.
    fd = central_differences(penalised, {"x": x, "y": y, "w": w, "b": b}, "w")
    check("finite differences of the value include the penalty's 0.2*w", fd - dw_p, 0.2 * w, rtol=1e-5, atol=1e-8)


def training_example(rng: np.random.Generator) -> None:
    section("4. Training: logistic regression by minibatch SGD with value_and_grad")
    n, d = 200, 3
    true_w, true_b = np.array([2.0, -3.0, 1.0]), 0.5
    inputs = rng.standard_normal((n, d))
    labels = (rng.random(n) < sigmoid(inputs @ true_w + true_b)).astype(float)  # noisy labels

    def logistic_loss(w, b, inputs, labels):
        return binary_cross_entropy_with_logits(inputs @ w + b, labels)

    # The training step's "forward + backward": compiled on the first call, reused after that.
    step = symdiff.value_and_grad(logistic_loss, wrt=("w", "b"))

    # Before training, check the gradient once against the hand-written one.
    w, b = np.zeros(d), 0.0
    _, (dw, db) = step(w, b, inputs, labels)
    residual = sigmoid(inputs @ w + b) - labels
    check("dw equals inputs.T @ (sigmoid(z) - labels) / n", dw, inputs.T @ residual / n)
    check("db equals mean(sigmoid(z) - labels)", db, np.mean(residual))

    learning_rate, batch, epochs = 0.5, 20, 30
    initial = logistic_loss(w, b, inputs, labels)
    print(f"epoch  0: loss {initial:.4f}")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start:start + batch]
            _, (dw, db) = step(w, b, inputs[rows], labels[rows])
            # optimizer.step(); no zero_grad() needed, the gradients are fresh each call
            w, b = w - learning_rate * dw, b - learning_rate * db
        if epoch % 5 == 0:
            print(f"epoch {epoch:2d}: loss {logistic_loss(w, b, inputs, labels):.4f}   w = {w}, b = {b:.4f}")

    final = logistic_loss(w, b, inputs, labels)
    at_truth = logistic_loss(true_w, true_b, inputs, labels)
    cosine = w @ true_w / (np.linalg.norm(w) * np.linalg.norm(true_w))
    accuracy = np.mean((inputs @ w + b > 0) == (labels > 0.5))
    print(f"loss {initial:.4f} -> {final:.4f}; at the true weights {at_truth:.4f}; "
          f"cosine(w, true w) = {cosine:.4f}; training accuracy {accuracy:.2%}")
    print("checks:")
    check("the loss fell below 0.6 x its initial value", final < 0.6 * initial, True)
    # The labels are noisy, so the loss cannot go to zero; a good fit reaches the true weights' loss.
    check("the loss is within 0.005 of (or below) the loss at the true weights", final < at_truth + 0.005, True)
    check("the learned weights point along the true ones (cosine > 0.95)", cosine > 0.95, True)


def main() -> int:
    rng = np.random.default_rng(0)
    seed_example(rng)
    scalar_example()
    stop_gradient_example(rng)
    training_example(rng)
    section("All checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
