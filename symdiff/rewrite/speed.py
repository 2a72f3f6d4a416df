"""Graph rewrites for speed: each keeps the math exact and the printed code readable.

- :func:`drop_shift_gradient` (before differentiation): in ``log(sum(exp(z - m))) + m`` the shift
  ``m`` cancels, so no gradient flows through it (the mathematically zero term is not computed).
- :func:`contract_products` (after): ``sum(c*u*v)`` and ``sum(c*u**2)`` over some axes become one
  ``np.einsum`` (or ``np.dot``) that reads ``u`` and ``v`` once and makes no temporary;
  :func:`split_total_sums` lets a total of row sums of products be one ``np.vdot``.
- :func:`share_powers` and :func:`share_scaled_sums` (inside common-subexpression elimination):
  ``r**-6`` and ``r**-3`` share ``1/r``; ``200*a - 200*b`` shares ``a - b``.
- :func:`tidy_signs` (last): ``np.dot(-u, -u)`` reads ``u``; ``out[i] += -g`` is ``out[i] -= g``.

Rewrites of how arrays are built are in :mod:`symdiff.rewrite.arrays`.
"""
from __future__ import annotations


import sympy as sp

from ..ir.graph import ARG, Node, consumers, rebuild, with_inputs
from ..ir.primitives import elementwise, getitem, reduce, stop_gradient
from ..ir.shapes import size_of
from .report import note


# ---------------------------------------------------------------- shift invariance ----------------

def _constant_along(m: Node, z: Node, axes: tuple[int, ...]) -> bool:
    """Whether ``m`` broadcast against ``z`` is constant along ``axes`` of ``z`` (size 1 or absent there)."""
    lead = z.ndim - m.ndim
    return lead >= 0 and all(a < lead or m.shape[a - lead] == 1 for a in axes)


def _shift_of(s: Node, users: dict[int, list[Node]]) -> tuple[Node, int, Node] | None:
    """For ``s = sum(exp(z - m))`` (an exp node used only by the sum, ``m`` constant along the summed
    axes): the exp node, the position of ``m`` among its inputs, and ``m``."""
    if s.op != "sum" or len(users.get(id(s), ())) != 1:
        return None
    e = s.inputs[0]
    if e.op != "elementwise" or len(e.inputs) != 2 or len(users.get(id(e), ())) != 1:
        return None
    for i, j in ((0, 1), (1, 0)):
        z, m = e.inputs[i], e.inputs[j]
        if e.expr == sp.exp(ARG[i] - ARG[j]) and m.op != "stop_gradient" and \
                _constant_along(m, z, s.param("axis")):
            return e, j, m
    return None


def drop_shift_gradient(outputs: list[Node]) -> list[Node]:
    """``log(sum(exp(z - m))) + m`` does not depend on ``m``: its gradient through ``m`` is exactly zero,
    so ``m`` is read through ``stop_gradient`` there (the max-shifted logsumexp's derivative is then
    the plain softmax, without the ``where(z == max)`` term)."""
    users = consumers(outputs)
    t = sp.Dummy("t", real=True)

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "elementwise":
            return node
        for k, s in enumerate(old.inputs):
            found = _shift_of(s, users)
            if found is None:
                continue
            e, j, m = found
            positions = [i for i, inp in enumerate(old.inputs) if inp is m]
            if len(positions) != 1:
                continue
            p = positions[0]
            if node.expr.xreplace({ARG[k]: sp.exp(t - ARG[p])}).has(ARG[p]):
                continue
            new_s, frozen = inputs[k], stop_gradient(inputs[p])
            new_e = new_s.inputs[0]
            new_e = with_inputs(new_e, tuple(frozen if i == j else x for i, x in enumerate(new_e.inputs)))
            new_s = with_inputs(new_s, (new_e,))
            note(f"{node.name or 'logsumexp'}: the shift {m.op} cancels in log(sum(exp(z - m))) + m: "
                  "no gradient through it")
            return with_inputs(node, tuple(new_s if i == k else frozen if i == p else x
                                           for i, x in enumerate(inputs)))
        return node
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- sums of products ----------------


#: Code of the nodes that only the passes after differentiation make (they have no derivative rules,
#: so they are not primitives): ``contract`` is ``sum(u*v)`` over some axes of two arrays of one shape.


def _split_product(term: sp.Expr, full: set[sp.Symbol], scalars: set[sp.Symbol]
                   ) -> tuple[sp.Expr, list[sp.Expr]] | None:
    """``term`` as ``scale * u * v``: ``scale`` over scalars and sizes only, ``u`` and ``v`` over inputs
    of the full shape; None if it is not such a product."""
    scale, factors = [], []
    for f in sp.Mul.make_args(term):
        syms = {s for s in f.free_symbols if s in full or s in scalars or s in ARG}
        if syms <= scalars:
            scale.append(f)
            continue
        if not syms <= full:
            return None
        base, exp = f.as_base_exp()
        factors += [base, base] if exp == 2 else [f]
    if len(factors) != 2:
        return None
    contents = [u.as_content_primitive() if u.is_Add else (sp.S.One, u) for u in factors]
    # 4*a - 4*b: the 4 goes outside, with the other scalars (u*u: squared)
    return sp.Mul(*scale, contents[0][0], contents[1][0]), [p for _, p in contents]


def contract_products(outputs: list[Node]) -> list[Node]:
    """``sum(c*u*v, axes)`` and sums of several such terms (``c`` a scalar) become ``np.dot``/``np.einsum``
    of ``u`` and ``v``: one pass, no temporary (e.g. ``np.einsum('ijk,ijk->ij', d, d)`` for
    ``np.sum(d**2, axis=-1)``, ``100*np.dot(t, t)`` for ``np.sum(100*t**2)``)."""
    users = consumers(outputs)
    letters = "ijklmnopqrstuvwxyzabcdefgh"

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "sum" or len(users.get(id(old.inputs[0]), ())) != 1:
            return node
        e = node.inputs[0]
        if e.op != "elementwise" or e.dtype == "bool" or not 0 < e.ndim <= len(letters) or not node.param("axis"):
            return node
        full = {ARG[i] for i, x in enumerate(e.inputs) if tuple(x.shape) == tuple(e.shape)}
        scalars = {ARG[i] for i, x in enumerate(e.inputs) if x.ndim == 0}
        split = [_split_product(t, full, scalars) for t in sp.Add.make_args(e.expr)]
        terms = [t for t in split if t is not None]
        if not terms or len(terms) != len(split) or len(terms) > 3:
            return node
        axes = node.param("axis")
        sub = letters[:e.ndim]
        out = "".join(c for i, c in enumerate(sub) if i not in axes)
        parts, scales = [], []
        for scale, (u, v) in terms:
            nu = _factor_node(u, e)
            nv = nu if v == u else _factor_node(v, e)
            parts.append(Node("contract", (nu, nv), tuple(d for i, d in enumerate(e.shape) if i not in axes),
                              params=(("subscripts", f"{sub},{sub}->{out}"),), dtype=e.dtype, origin=node.origin))
            scales.append(scale)
        k = len(parts)
        total = sp.Add(*(s.xreplace({ARG[i]: ARG[k + i] for i in range(len(e.inputs))}) * ARG[j]
                         for j, s in enumerate(scales)))
        result = elementwise(total, (*parts, *e.inputs), origin=node.origin)
        if node.param("keepdims"):
            index = tuple(None if i in axes else ("slice", None, None, None) for i in range(e.ndim))
            result = getitem(result, index, origin=node.origin)
        note(f"sum of products over axes {axes} -> {'dot' if not out else 'einsum'}")
        return result
    return rebuild(outputs, fn)


def _factor_node(u: sp.Expr, e: Node) -> Node:
    """The array of factor ``u`` (an expression over ``e``'s inputs)."""
    return elementwise(u, e.inputs, origin=e.origin)


def split_total_sums(outputs: list[Node]) -> list[Node]:
    """The total (``sum`` or ``mean`` over all axes) of ``rest + c*sum(p, axes)`` is
    ``total(rest) + c*sum(p)``, so a row sum of a product inside a total becomes one ``np.vdot`` (as in
    ``np.mean(lse - np.sum(Y * logits, axis=1))``) instead of a row-wise einsum."""
    users = consumers(outputs)

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op not in ("sum", "mean") or len(node.param("axis")) != node.inputs[0].ndim or \
                node.inputs[0].ndim == 0 or len(users.get(id(old.inputs[0]), ())) != 1:
            return node
        e = node.inputs[0]
        if e.op != "elementwise" or not e.expr.is_Add:
            return node
        scalars = {ARG[i] for i, x in enumerate(e.inputs) if x.ndim == 0}
        rest, pulled = e.expr, []
        for k, t in enumerate(old.inputs[0].inputs):
            if t.op != "sum" or t.shape != e.shape or len(users.get(id(t), ())) != 1:
                continue
            c = sp.Add(*(a for a in e.expr.args if a.has(ARG[k]))) / ARG[k]
            if not (c.free_symbols & set(ARG)) <= scalars:
                continue
            rest -= c * ARG[k]
            pulled.append((c, reduce("sum", e.inputs[k].inputs[0], axis=None, origin=node.origin)))
        if not pulled:
            return node
        o, count = node.origin, size_of(e.shape)
        n = len(e.inputs)
        parts = [reduce(node.op, elementwise(rest, e.inputs, shape=e.shape, origin=e.origin), axis=None,
                        keepdims=node.param("keepdims"), origin=o)] if rest != 0 else []
        total = sum(((c / count if node.op == "mean" else c) * ARG[n + j] for j, (c, _) in enumerate(pulled)),
                    ARG[n + len(pulled)] if parts else sp.S.Zero)
        note(f"{len(pulled)} row sums inside a total summed as a whole")
        return elementwise(total, (*e.inputs, *(t for _, t in pulled), *parts), shape=node.shape, origin=o)
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- scaled sums -----------------------

def _canonical(add: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``add`` as ``c * p`` with ``p`` primitive and of a fixed sign (``200*a - 200*b`` -> ``(200, a - b)``)."""
    c, p = add.as_content_primitive()
    if p.could_extract_minus_sign():
        c, p = -c, -p
    return c, p


def _part_of(add: sp.Expr, p: sp.Expr) -> tuple[sp.Expr, list[sp.Expr]] | None:
    """``(c, rest)`` when the terms ``c*p`` are some of the terms of ``add`` (and rest the others)."""
    terms = list(add.args)
    f_coeff, f_rest = p.args[0].as_coeff_Mul()
    for t in terms:
        t_coeff, t_rest = t.as_coeff_Mul()
        if t_rest != f_rest:  # t is not a number times p's first term (cheaper than dividing)
            continue
        c = t_coeff / f_coeff
        scaled = [c * q for q in p.args]
        if all(s in terms for s in scaled):
            return c, [t for t in terms if t not in scaled]
    return None


def _adds(e: sp.Expr) -> list[sp.Expr]:
    return [t for t in sp.preorder_traversal(e) if t.is_Add and t.free_symbols]


def share_scaled_sums(exprs: list[sp.Expr], symbols) -> tuple[list[sp.Expr], list[tuple[sp.Symbol, sp.Expr]]]:
    """Sums that occur more than once up to a constant factor, possibly as part of a longer sum
    (``1 - a`` in ``2*a - 400*b*a - 2``), become one symbol each, so common-subexpression
    elimination can share them (SymPy distributes numbers over sums: ``200*(a - b)`` is stored as
    ``200*a - 200*b``). Returns the new expressions and the ``(symbol, sum)`` pairs."""
    adds = [a for e in exprs for a in _adds(e)]
    if len(adds) > 200:  # a budget: quadratic matching below
        return exprs, []
    prims = [_canonical(a)[1] for a in adds]
    count: dict[sp.Expr, int] = {}
    for p in prims:
        count[p] = count.get(p, 0) + 1
    distinct = set(prims)
    for a in adds:
        for p in distinct:
            if len(p.args) < len(a.args) and _part_of(a, p) is not None:
                count[p] = count.get(p, 0) + 1
    chosen = [p for p, n in count.items() if n >= 2]
    if not chosen:
        return exprs, []
    chosen.sort(key=lambda p: -len(p.args))  # longer sums first
    names = {p: next(symbols) for p in chosen}

    def sub(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        e = e.func(*(sub(a) for a in e.args))
        if not e.is_Add:
            return e
        c, p = _canonical(e)
        if p in names:
            return c * names[p]
        for p in chosen:
            if len(p.args) < len(e.args) and (found := _part_of(e, p)) is not None:
                return found[0] * names[p] + sp.Add(*found[1])
        return e
    pairs = [(names[p], p) for p in chosen]
    return [sub(e) for e in exprs], pairs


# ---------------------------------------------------------------- signs ---------------------------

def _negated(x: Node, users: dict[int, list[Node]]) -> Node | None:
    """``u`` when ``x`` is ``-u``; ``-expr`` when ``x`` is a negative expression only one node reads."""
    if x.op != "elementwise":
        return None
    if x.expr == -ARG[0]:
        return x.inputs[0]
    if x.expr.could_extract_minus_sign() and len(users.get(id(x), ())) == 1 and x.name is None:
        return with_inputs(x, x.inputs, expr=-x.expr)
    return None


def tidy_signs(outputs: list[Node]) -> list[Node]:
    """After sharing: ``np.dot(-u, -u)`` reads ``u``, ``out[i] += -g`` becomes ``out[i] -= g``, and
    ``exp(-(a - b))`` is ``exp(b - a)``."""
    users = consumers(outputs)
    returned = {id(o) for o in outputs}

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op == "contract" and old.inputs[0] is old.inputs[1] and old.inputs[0].expr == -ARG[0]:
            u = node.inputs[0].inputs[0]
            return with_inputs(node, (u, u))
        if node.op == "scatter_sum":
            terms, signs = list(node.inputs), list(node.param("signs"))
            for k in range(1, len(terms)):
                flipped = _negated(old.inputs[k], users) if old.inputs[k] is inputs[k] else None
                if flipped is not None:
                    terms[k], signs[k] = flipped, "-" if signs[k] == "+" else "+"
            params = tuple((key, tuple(signs)) if key == "signs" else (key, v) for key, v in node.params)
            return with_inputs(node, tuple(terms), params=params)
        if node.op == "elementwise":
            for i, x in enumerate(inputs):  # exp(-(a - b)) reads b - a (exp(-0.0) == exp(0.0): the same values)
                e = sp.exp(-ARG[i])
                if x is old.inputs[i] and x.op == "elementwise" and x.expr.is_Add and x.name is None and \
                        id(x) not in returned and len(users.get(id(x), ())) == 1 and node.expr.has(e) and \
                        not node.expr.xreplace({e: sp.Integer(1)}).has(ARG[i]):
                    flipped = with_inputs(x, x.inputs, expr=-x.expr)
                    node = with_inputs(node, (*node.inputs[:i], flipped, *node.inputs[i + 1:]),
                                       expr=node.expr.xreplace({e: sp.exp(ARG[i])}))
        return node
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- powers --------------------------

def share_powers(exprs: list[sp.Expr], handles: set[sp.Symbol], symbols
                 ) -> tuple[list[sp.Expr], list[tuple[sp.Symbol, sp.Expr]]]:
    """Integer powers of one array with several exponents share their work: for ``r**-6``, ``r**-3``,
    ``r**-4`` and ``r**-7``, ``s = 1/r`` and ``s3 = s*s*s`` are computed once, and the powers are
    ``s3**2``, ``s3``, ``s3*s`` and ``s3**2*s``. Returns the new expressions and the
    ``(symbol, expression)`` pairs of the shared powers."""
    found: dict[tuple[sp.Symbol, int], set[int]] = {}
    for e in exprs:
        for t in sp.preorder_traversal(e):
            if t.is_Pow and t.base in handles and t.exp.is_Integer:
                found.setdefault((t.base, 1 if t.exp > 0 else -1), set()).add(abs(int(t.exp)))
    mapping: dict[sp.Expr, sp.Expr] = {}
    pairs: list[tuple[sp.Symbol, sp.Expr]] = []
    for (base, sign), exps in sorted(found.items(), key=lambda kv: (kv[0][0].name, kv[0][1])):
        big = sorted(k for k in exps if k >= 2)
        if len(big) < 2:
            continue
        unit = base
        if sign < 0:
            unit = next(symbols)
            pairs.append((unit, 1 / base))
        block, b = next(symbols), big[0]
        pairs.append((block, unit ** b))
        for k in exps:
            mapping[base ** (sign * k)] = block ** (k // b) * unit ** (k % b)
    if not mapping:
        return exprs, []
    return [e.xreplace(mapping) for e in exprs], pairs
