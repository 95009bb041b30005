"""Training: tinynet.fit and its History."""
import math
import sys
import time

import numpy as np

from tinynet._mlp import MLP
from tinynet._optim import DEFAULT_LR, OPTIMIZERS, schedule
from tinynet._validation import check_sample_weight, check_X, check_Y

_FIELDS = ("epoch", "train_loss", "val_loss", "grad_norm", "time")


class History:
    """Per-epoch record of a fit.

    Attributes (lists, one entry per epoch): ``epoch``, ``train_loss`` (the
    loss of the whole training set, penalty included, at the end of the
    epoch), ``val_loss`` (None without a validation set), ``grad_norm`` (the
    norm of the full-batch gradient), ``time`` (seconds since the start).
    ``stopped_early`` and ``best_epoch`` tell how the fit ended.
    """

    def __init__(self):
        for f in _FIELDS:
            setattr(self, f, [])
        self.stopped_early = False
        self.best_epoch = None
        self.interrupted = False

    def _append(self, **row):
        for f in _FIELDS:
            getattr(self, f).append(row.get(f))

    def __len__(self):
        return len(self.epoch)

    def records(self):
        """A list of dicts, one per epoch (pandas.DataFrame(history.records()))."""
        return [dict(zip(_FIELDS, row))
                for row in zip(*(getattr(self, f) for f in _FIELDS))]

    def as_dict(self):
        """{field: list} (pandas.DataFrame(history.as_dict()))."""
        return {f: list(getattr(self, f)) for f in _FIELDS}

    def __repr__(self):
        if not self.epoch:
            return "History(0 epochs)"
        return (f"History({len(self)} epochs, train_loss {self.train_loss[0]:.4g} -> "
                f"{self.train_loss[-1]:.4g})")

    def plot(self, path, title=None):
        """Draw train (and validation) loss per epoch, log scale, to an image
        file such as a PNG. Needs matplotlib (``pip install tinynet[plot]``)."""
        return plot_history(self, path, title)


def plot_history(history, path, title=None):
    """Write the loss curve of `history` to `path` (PNG, SVG, PDF...)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'tinynet[plot]'") from None
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(history.epoch, history.train_loss, label="training loss")
    if any(v is not None for v in history.val_loss):
        ax.plot(history.epoch, history.val_loss, label="validation loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (log scale)")
    ax.set_title(title or "tinynet training")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


class _Progress:
    """A tqdm bar on a terminal for runs longer than about a second; lines of
    text every so often when not on a terminal and verbose >= 2; else quiet."""

    def __init__(self, total, verbose):
        self.total, self.verbose = total, verbose
        self.bar = None
        self.t0 = time.perf_counter()
        self.tty = verbose >= 1 and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()

    def update(self, epoch, loss):
        if self.verbose <= 0:
            return
        if self.tty:
            wait = 1.0 if self.verbose == 1 else 0.0
            if self.bar is None and time.perf_counter() - self.t0 >= wait:
                try:
                    from tqdm.auto import tqdm
                except ImportError:
                    self.tty = False
                    return
                self.bar = tqdm(total=self.total, initial=epoch + 1, unit="epoch",
                                file=sys.stderr, leave=True, dynamic_ncols=True)
            elif self.bar is not None:
                self.bar.update(1)
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        elif self.verbose >= 2 and (epoch + 1) % max(1, self.total // 10) == 0:
            print(f"epoch {epoch + 1}/{self.total}  loss {loss:.6g}", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def fit(net, X, Y, params=None, *, optimizer="adam", lr=None, epochs=200,
        batch_size=None, seed=None, sample_weight=None, alpha=0.0,
        validation_fraction=None, patience=10, tol=1e-7, schedule_name="constant",
        momentum=0.9, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
        verbose=1, n_threads=None, callback=None):
    """Train `net` on (X, Y).

    Parameters
    ----------
    net : MLP
    X : array_like, shape (N, sizes[0])
    Y : array_like, shape (N, sizes[-1]) or (N,)
    params : list of ndarray, optional
        Starting parameters; default ``net.init(seed)``. Not modified.
    optimizer : {"adam", "sgd", "gd", "lbfgs"}
        "gd" is plain gradient descent (the seed's setting); "sgd" adds
        momentum (``nesterov=True`` for Nesterov's); "lbfgs" runs
        scipy.optimize.minimize(method="L-BFGS-B") on the full batch, with
        ``epochs`` as its iteration limit.
    lr : float, optional
        Learning rate; default 0.01 (adam), 0.05 (sgd), 0.5 (gd).
    epochs : int
        Passes over the training data.
    batch_size : int, optional
        Samples per step; default: the whole training set. Batches are drawn
        from a fresh permutation every epoch (seeded by ``seed``).
    seed : int, optional
        Seeds the initial parameters, the shuffling and the validation split:
        the same seed and data give the same result, bit for bit.
    sample_weight : array_like, shape (N,), optional
        The loss is sum_i s_i l_i / sum_i s_i (all ones = unweighted).
    alpha : float
        L2 penalty: ``alpha / 2 * sum of squared weights`` (not biases) is
        added to the loss.
    validation_fraction : float in (0, 1), optional
        Hold out this fraction of samples (seeded); stop when the validation
        loss has not improved by ``tol`` for ``patience`` epochs, and return
        the parameters of the best epoch.
    schedule_name : {"constant", "invscaling", "cosine"}
        Learning-rate schedule over epochs.
    verbose : int
        0: quiet; 1: a progress bar (tqdm, if installed) on a terminal for
        runs over a second; 2: the bar from the start, and a line every tenth
        of the run when not on a terminal.
    callback : callable, optional
        ``callback(epoch, params, history)`` after each epoch; returning True
        stops the fit.

    Returns
    -------
    params : list of ndarray
        The trained parameters (the best epoch's with early stopping).
    history : History

    Ctrl-C during a fit stops it cleanly: the parameters of the last
    completed epoch are returned and ``history.interrupted`` is True.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a tinynet.MLP; got {type(net).__name__}")
    dt = net.dtype
    X = check_X(X, net.sizes[0], dt)
    Y = check_Y(Y, X.shape[0], net.sizes[-1], dt)
    N = X.shape[0]
    sw = check_sample_weight(sample_weight, N, dt)
    for name, a in (("X", X), ("Y", Y)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinity")
    if optimizer not in OPTIMIZERS and optimizer != "lbfgs":
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS) + ['lbfgs']}; "
                         f"got {optimizer!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive int; got {epochs!r}")
    lr = DEFAULT_LR[optimizer] if lr is None else float(lr)
    if optimizer != "lbfgs" and not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be >= 0; got {alpha!r}")
    schedule(schedule_name, 1.0, 0, 1)                   # validates the name
    rng = np.random.default_rng(seed)
    init_seed = int(rng.integers(2 ** 63))
    theta = net.flatten(net.init(init_seed) if params is None else params).astype(dt)
    if not np.isfinite(theta).all():
        raise ValueError("params contains NaN or infinity")

    # validation split
    Xv = Yv = swv = None
    if validation_fraction is not None:
        if not 0 < validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1); got {validation_fraction!r}")
        n_val = max(1, int(round(N * validation_fraction)))
        if n_val >= N:
            raise ValueError(f"validation_fraction={validation_fraction} leaves no "
                             f"training samples out of N={N}")
        perm = rng.permutation(N)
        val, tr = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        Xv, Yv = X[val], Y[val]
        swv = None if sw is None else sw[val]
        X, Y = X[tr], Y[tr]
        sw = None if sw is None else sw[tr]
        N = X.shape[0]
    if batch_size is None:
        batch_size = N
    if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None; got {batch_size!r}")
    batch_size = min(int(batch_size), N)

    mask = net.weight_mask()
    history = History()
    t0 = time.perf_counter()

    def full_loss(th, Xa, Ya, swa):
        return net._value_and_grad_flat(th, Xa, Ya, swa, n_threads, alpha, mask)

    def record(epoch, th):
        loss, g = full_loss(th, X, Y, sw)
        vloss = None if Xv is None else full_loss(th, Xv, Yv, swv)[0]
        history._append(epoch=epoch, train_loss=float(loss), val_loss=vloss,
                        grad_norm=float(np.linalg.norm(g)), time=time.perf_counter() - t0)
        return loss, vloss

    if optimizer == "lbfgs":
        theta = _fit_lbfgs(net, theta, X, Y, sw, alpha, mask, epochs, n_threads,
                           history, record, callback, verbose)
        return net.unflatten(theta), history

    opt_args = {"sgd": dict(momentum=momentum, nesterov=nesterov),
                "adam": dict(beta1=beta1, beta2=beta2, eps=eps)}.get(optimizer, {})
    opt = OPTIMIZERS[optimizer](net.n_params, **opt_args)
    work = theta.astype(np.float64)          # updates in double, cast for the kernel
    best = (math.inf, None, -1)
    waited = 0
    progress = _Progress(epochs, verbose)
    full_batch = batch_size >= N
    last_good = theta.copy()
    try:
        for epoch in range(epochs):
            rate = schedule(schedule_name, lr, epoch, epochs)
            if full_batch:
                _, g = full_loss(theta, X, Y, sw)
                opt.step(work, g, rate)
                theta = work.astype(dt)
            else:
                order = rng.permutation(N)
                for start in range(0, N, batch_size):
                    idx = order[start:start + batch_size]
                    _, g = full_loss(theta, X[idx], Y[idx], None if sw is None else sw[idx])
                    opt.step(work, g, rate)
                    theta = work.astype(dt)
            if not np.isfinite(theta).all():
                raise FloatingPointError(
                    f"the parameters became NaN or infinite at epoch {epoch}; "
                    f"try a smaller learning rate (lr={lr})")
            loss, vloss = record(epoch, theta)
            last_good = theta.copy()
            progress.update(epoch, loss)
            if Xv is not None:
                if vloss < best[0] - tol:
                    best, waited = (vloss, theta.copy(), epoch), 0
                else:
                    waited += 1
                    if waited >= patience:
                        history.stopped_early = True
                        break
            if callback is not None and callback(epoch, net.unflatten(theta), history):
                break
    except KeyboardInterrupt:
        history.interrupted = True
        theta = last_good
    finally:
        progress.close()
    if Xv is not None and best[1] is not None:
        theta = best[1]
        history.best_epoch = best[2]
    return net.unflatten(theta), history


def _fit_lbfgs(net, theta, X, Y, sw, alpha, mask, epochs, n_threads, history,
               record, callback, verbose):
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise ImportError("optimizer='lbfgs' needs scipy: pip install scipy") from None
    dt = net.dtype

    def f(th):
        loss, g = net._value_and_grad_flat(np.ascontiguousarray(th, dtype=dt), X, Y, sw,
                                           n_threads, alpha, mask)
        return loss, g.astype(np.float64)

    state = {"epoch": 0, "theta": theta}
    progress = _Progress(epochs, verbose)

    def cb(th):
        th = np.ascontiguousarray(th, dtype=dt)
        state["theta"] = th.copy()
        loss, _ = record(state["epoch"], th)
        progress.update(state["epoch"], loss)
        state["epoch"] += 1
        if callback is not None and callback(state["epoch"] - 1, net.unflatten(th), history):
            raise StopIteration
    best = theta.astype(np.float64)
    try:
        res = minimize(f, best, jac=True, method="L-BFGS-B", callback=cb,
                       options={"maxiter": epochs})
        best = res.x
    except StopIteration:
        best = None
    except KeyboardInterrupt:
        history.interrupted = True
        best = None
    finally:
        progress.close()
    if best is None:        # stopped by the callback or Ctrl-C: the last recorded epoch
        return state["theta"]
    return best.astype(dt)
