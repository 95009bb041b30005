"""Gradient checking for people who derive gradients by hand."""
import numpy as np

from tinynet._mlp import MLP
from tinynet._validation import check_sample_weight, check_X, check_Y


def entry_name(name, index):
    """The docs' name of one parameter entry: "W1[2, 3]" or "b1[3]"."""
    return f"{name}[{', '.join(str(i) for i in index)}]"


class GradCheck:
    """The result of :func:`check_grad`.

    Attributes
    ----------
    rows : list of tuple
        (name, analytic, reference, abs_err, rel_err) for every entry checked,
        in parameter order; ``reference`` is the finite-difference estimate
        (or the user's gradient when one was given).
    worst_abs, worst_abs_name : float, str
        The largest absolute error and the entry where it occurs.
    worst_rel, worst_rel_name : float, str
        The largest relative error |a - r| / max(|a|, |r|, atol) and its
        entry (the atol floor keeps entries near 0 from dominating).
    ok : bool
        Every entry within ``rtol`` relative or ``atol`` absolute error.
    """

    def __init__(self, rows, rtol, atol, method):
        self.rows, self.rtol, self.atol, self.method = rows, rtol, atol, method
        abs_err = np.array([r[3] for r in rows])
        rel_err = np.array([r[4] for r in rows])
        i, j = int(np.argmax(abs_err)), int(np.argmax(rel_err))
        self.worst_abs, self.worst_abs_name = float(abs_err[i]), rows[i][0]
        self.worst_rel, self.worst_rel_name = float(rel_err[j]), rows[j][0]
        self.ok = bool(np.all((rel_err <= rtol) | (abs_err <= atol)))

    def summary(self):
        return (f"gradient check ({self.method}, {len(self.rows)} entries): "
                f"worst relative error {self.worst_rel:.2e} at {self.worst_rel_name}, "
                f"worst absolute error {self.worst_abs:.2e} at {self.worst_abs_name}: "
                f"{'OK' if self.ok else 'MISMATCH'} (rtol={self.rtol:g}, atol={self.atol:g})")

    def table(self, limit=None):
        """The per-entry table as text (the first `limit` rows, worst first
        when limited)."""
        rows = self.rows
        if limit is not None and len(rows) > limit:
            rows = sorted(rows, key=lambda r: -r[4])[:limit]
        ref = "numeric" if self.method == "finite differences" else "yours"
        lines = [f"{'weight':<14}{'analytic':>16}{ref:>16}{'abs err':>11}{'rel err':>11}"]
        for name, a, r, ae, re in rows:
            flag = "" if (re <= self.rtol or ae <= self.atol) else "  <-- mismatch"
            lines.append(f"{name:<14}{a:>16.8e}{r:>16.8e}{ae:>11.2e}{re:>11.2e}{flag}")
        return "\n".join(lines)

    def __str__(self):
        return self.table() + "\n" + self.summary()

    def __repr__(self):
        return f"<GradCheck {self.summary()}>"


def check_grad(net, params, X, Y, *, grad=None, sample_weight=None, eps=1e-4,
               rtol=1e-6, atol=1e-9, max_entries=2000, seed=0):
    """Compare gradients entry by entry, in float64, and name the worst.

    Without ``grad``: tinynet's analytic gradient against 4th-order central
    finite differences of the loss, (8 [L(w+h) - L(w-h)] - [L(w+2h) - L(w-2h)]) / 12h
    with h = eps * max(1, |w|).  With ``grad``: your gradient against
    tinynet's analytic one.

    Parameters
    ----------
    net : MLP
        Its float64 twin is used whatever net.dtype is.
    params : list of array_like
        W1, [b1], W2, ...
    X, Y, sample_weight
        As in ``net.value_and_grad``.
    grad : list of array_like, or callable, optional
        Your gradient: arrays shaped like ``params``, or a function
        ``grad(params, X, Y) -> list of arrays``.
    eps : float
        Relative finite-difference step.
    rtol, atol : float
        An entry passes with relative error <= rtol or absolute error <= atol.
    max_entries : int or None
        Finite differences cost 4 loss evaluations per entry: nets with more
        entries are checked on a random (seeded) subset of this size.

    Returns
    -------
    GradCheck
        ``.ok``, ``.worst_rel``, ``.worst_rel_name`` ("W1[2, 3]"), ``.rows``;
        ``print(result)`` shows the table.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a tinynet.MLP; got {type(net).__name__}")
    net64 = MLP(net.sizes, net.activation, net.output, net.loss_name, net.bias, "float64")
    theta = net64.flatten(params).astype(np.float64)
    X = check_X(X, net.sizes[0], np.dtype(np.float64))
    Y = check_Y(Y, X.shape[0], net.sizes[-1], np.dtype(np.float64))
    sw = check_sample_weight(sample_weight, X.shape[0], np.dtype(np.float64))
    _, analytic = net64.value_and_grad(net64.unflatten(theta), X, Y, sample_weight=sw)
    a_flat = np.concatenate([g.ravel() for g in analytic])

    names = []
    for name, shape in zip(net64.param_names, net64.param_shapes):
        names += [entry_name(name, idx) for idx in np.ndindex(shape)]
    P = len(names)
    idx = np.arange(P)
    if max_entries is not None and P > max_entries:
        idx = np.sort(np.random.default_rng(seed).choice(P, max_entries, replace=False))

    if grad is not None:
        method = "your gradient vs tinynet's analytic"
        user = grad(net64.unflatten(theta), X, Y) if callable(grad) else grad
        if not isinstance(user, (list, tuple)) or len(user) != len(net64.param_shapes):
            raise ValueError(f"grad must give {len(net64.param_shapes)} arrays "
                             f"{list(net64.param_names)}; got {type(user).__name__}")
        for i, (u, shape, name) in enumerate(zip(user, net64.param_shapes, net64.param_names)):
            if np.shape(u) != shape:
                raise ValueError(f"grad[{i}] ({name}) must have shape {shape}; "
                                 f"got {np.shape(u)}")
        ref = np.concatenate([np.asarray(u, dtype=np.float64).ravel() for u in user])
        # analytic is tinynet's here, reported as the reference column "yours"
        pairs = [(names[i], float(a_flat[i]), float(ref[i])) for i in idx]
    else:
        method = "finite differences"
        f = net64.objective(X, Y, sample_weight=sw)
        pairs = []
        for i in idx:
            h = eps * max(1.0, abs(theta[i]))
            t = theta.copy()

            def L(delta, t=t, i=i):
                t[i] = theta[i] + delta
                return f(t)[0]
            num = (8 * (L(h) - L(-h)) - (L(2 * h) - L(-2 * h))) / (12 * h)
            pairs.append((names[i], float(a_flat[i]), float(num)))
    rows = []
    for name, a, r in pairs:
        ae = abs(a - r)
        re = ae / max(abs(a), abs(r), atol)     # entries near 0 are held to atol
        rows.append((name, a, r, ae, re))
    return GradCheck(rows, rtol, atol, method)
