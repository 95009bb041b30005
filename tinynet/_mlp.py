"""The public MLP class: validates and dispatches to the compiled kernel."""
import numpy as np

from tinynet import _dispatch
from tinynet._dispatch import kernels as _kernels
from tinynet._validation import (as_real_array, check_n_threads,
                                 check_sample_weight, check_X, check_Y,
                                 first_nonfinite_row)

# the kernel's modes, looked up once (the fast paths pass them on every call)
_PREDICT, _LOSS, _GRAD = _kernels.PREDICT, _kernels.LOSS, _kernels.GRAD

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "identity", "softmax")
LOSSES = ("mse", "bce", "ce")
# the outputs each loss can be paired with
LOSS_OUTPUTS = {"mse": OUTPUTS, "bce": ("sigmoid",), "ce": ("softmax",)}
DTYPES = ("float32", "float64")


def _check_choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}; got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")
    return value


def _check_sizes(sizes):
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of ints such as (3, 4, 1); "
                        f"got {sizes!r}") from None
    out = []
    for i, s in enumerate(sizes):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"sizes[{i}] must be an int; got {s!r}")
        if s < 1:
            raise ValueError(f"sizes[{i}] must be >= 1; got {s}")
        out.append(int(s))
    if len(out) < 2:
        raise ValueError(f"sizes must have at least 2 entries (inputs, outputs); "
                         f"got {tuple(out)}")
    return tuple(out)


class _CallableName(str):
    """The loss's name (a str, so ``net.loss == "mse"``) that is also the
    loss function: ``net.loss(params, X, Y)`` computes the loss."""

    def __new__(cls, name, fn):
        obj = str.__new__(cls, name)
        obj._fn = fn
        return obj

    def __call__(self, params, X, Y, *, sample_weight=None, n_threads=None,
                 check_finite=True):
        return self._fn(params, X, Y, sample_weight=sample_weight, n_threads=n_threads,
                        check_finite=check_finite)

    def __reduce__(self):
        return (str, (str(self),))


class MLP:
    """A multilayer perceptron: its architecture, loss and exact gradients.

    The network computes, for layers l = 1..L (L = len(sizes) - 1)::

        A_0 = X                               (N, sizes[0])
        H_l = A_{l-1} W_l [+ b_l]             (N, sizes[l])
        A_l = activation(H_l)   for l < L
        yhat = output(H_L)                    (N, sizes[-1])

    and the loss averaged over samples (or weighted by ``sample_weight``)::

        mse: 1/(2N) sum_i sum_k (Y_ik - yhat_ik)^2
        bce: -1/N sum_i sum_k [Y log yhat + (1 - Y) log(1 - yhat)]   (sigmoid output)
        ce:  -1/N sum_i sum_k Y_ik log softmax(H_L)_ik               (softmax output)

    ``MLP()`` is the seed network: 3 inputs, 4 sigmoid hidden units, 1 sigmoid
    output, no biases, mean squared error with the factor 1/2.

    Parameters
    ----------
    sizes : sequence of int, default (3, 4, 1)
        Layer widths from input to output; at least 2 entries, each >= 1.
    activation : {"sigmoid", "tanh", "relu", "identity"}, default "sigmoid"
        Activation of the hidden layers. relu's derivative at 0 is taken as 0.
    output : {"sigmoid", "identity", "softmax"}, default "sigmoid"
        Activation of the output layer.
    loss : {"mse", "bce", "ce"}, default "mse"
        "bce" needs ``output="sigmoid"`` and "ce" needs ``output="softmax"``.
        Afterwards ``net.loss`` is this name (a str) and also the method that
        computes the loss: ``net.loss(params, X, Y)``.
    bias : bool, default False
        Whether every layer adds a bias vector.
    dtype : {"float32", "float64"}, default "float64"
        The precision of the computation. Inputs of another dtype (any bool,
        int or float array, or a list) are converted to it, which copies them.
        Sums over samples are accumulated in double precision either way.

    Parameters of the network are passed as a list ``params`` in the order
    W1, [b1], W2, [b2], ...: ``W_l`` of shape (sizes[l-1], sizes[l]) and
    ``b_l`` of shape (sizes[l],).

    Examples
    --------
    >>> import numpy as np, tinynet
    >>> net = tinynet.MLP()
    >>> W1, W2 = net.init(seed=0)
    >>> X = np.random.default_rng(0).normal(size=(8, 3))
    >>> Y = (X.sum(axis=1) > 0).astype(float)
    >>> loss, (dW1, dW2) = net.value_and_grad([W1, W2], X, Y)
    >>> dW1.shape, dW2.shape
    ((3, 4), (4, 1))
    """

    def __init__(self, sizes=(3, 4, 1), activation="sigmoid", output="sigmoid",
                 loss="mse", bias=False, dtype="float64"):
        self._sizes = _check_sizes(sizes)
        self._activation = _check_choice(activation, "activation", HIDDEN_ACTIVATIONS)
        self._output = _check_choice(output, "output", OUTPUTS)
        self._loss = _check_choice(loss, "loss", LOSSES)
        # made once: net.loss(params, X, Y) is called in loops
        self._loss_callable = _CallableName(self._loss, self._loss_value)
        if self._output not in LOSS_OUTPUTS[self._loss]:
            raise ValueError(f"loss={loss!r} needs output in {LOSS_OUTPUTS[loss]}; "
                             f"got output={output!r}")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False; got {bias!r}")
        self._bias = bool(bias)
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be one of {DTYPES}; got {dtype!r}") from None
        if dt.name not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}; got {dt.name!r}")
        self._dtype = dt
        self._set_kernel(_kernels)
        shapes, names = [], []
        for l in range(1, len(self._sizes)):
            shapes.append((self._sizes[l - 1], self._sizes[l]))
            names.append(f"W{l}")
            if self._bias:
                shapes.append((self._sizes[l],))
                names.append(f"b{l}")
        self._shapes = tuple(shapes)
        self._names = tuple(names)
        ends = np.cumsum([int(np.prod(s)) for s in shapes]).tolist()
        self._slices = [(a, b, shape) for a, b, shape in zip([0] + ends[:-1], ends, shapes)]

    def _set_kernel(self, module):
        self._kernel = module.Kernel(
            self._sizes, module.ACTIVATIONS[self._activation],
            module.ACTIVATIONS[self._output], module.LOSSES[self._loss], self._bias)
        f64 = self._dtype == np.float64
        self._krun = self._kernel.run_float64 if f64 else self._kernel.run_float32
        self._kfast = self._kernel.fast_float64 if f64 else self._kernel.fast_float32

    def _use_variant(self, name):
        """Switch this net to another kernel variant (for tests and benchmarks);
        `name` is a key of tinynet._dispatch.available()."""
        self._set_kernel(_dispatch.available()[name])
        return self

    # ---- the architecture, read-only
    sizes = property(lambda self: self._sizes, doc="Layer widths, input first.")
    activation = property(lambda self: self._activation, doc="Hidden activation.")
    output = property(lambda self: self._output, doc="Output activation.")
    loss_name = property(lambda self: self._loss, doc="The loss's name, a plain str.")
    loss = property(lambda self: self._loss_callable,
                    doc="The loss's name, callable as net.loss(params, X, Y) "
                        "(see _loss_value).")
    bias = property(lambda self: self._bias, doc="Whether layers have biases.")
    dtype = property(lambda self: self._dtype, doc="The computation's numpy dtype.")
    param_shapes = property(lambda self: self._shapes,
                            doc="Shapes of W1, [b1], W2, ... in order.")
    param_names = property(lambda self: self._names,
                           doc='Names of the parameters: "W1", ["b1"], "W2", ...')
    n_params = property(lambda self: int(self._kernel.n_params),
                        doc="Total number of scalar parameters.")

    def _config(self):
        return (self._sizes, self._activation, self._output, self._loss,
                self._bias, self._dtype.name)

    def __repr__(self):
        return (f"MLP(sizes={self._sizes}, activation={self._activation!r}, "
                f"output={self._output!r}, loss={self._loss!r}, "
                f"bias={self._bias}, dtype={self._dtype.name!r})")

    def __eq__(self, other):
        if not isinstance(other, MLP):
            return NotImplemented
        return self._config() == other._config()

    def __hash__(self):
        return hash(self._config())

    def __reduce__(self):
        sizes, act, out, loss, bias, dtype = self._config()
        return (MLP, (sizes, act, out, loss, bias, dtype))

    # ---- parameters
    def init(self, seed=None):
        """Random initial parameters.

        Weights are drawn uniformly from [-a, a] with
        a = sqrt(6 / (fan_in + fan_out)) (Glorot); biases start at 0.

        Parameters
        ----------
        seed : None, int or numpy.random.Generator
            The same seed gives the same parameters.

        Returns
        -------
        params : list of ndarray
            W1 (sizes[0], sizes[1]), [b1 (sizes[1],)], W2, ... in the net's dtype.
        """
        rng = np.random.default_rng(seed)
        params = []
        for shape in self._shapes:
            if len(shape) == 2:
                a = np.sqrt(6.0 / (shape[0] + shape[1]))
                params.append(rng.uniform(-a, a, size=shape).astype(self._dtype))
            else:
                params.append(np.zeros(shape, dtype=self._dtype))
        return params

    def _pack(self, params):
        """The flat parameter vector theta (n_params,) of the net's dtype."""
        dt = self._dtype
        if (type(params) is list or type(params) is tuple) and len(params) == len(self._shapes):
            # fast path: arrays of the right dtype and shape
            for p, shape in zip(params, self._shapes):
                if type(p) is not np.ndarray or p.dtype != dt or p.shape != shape:
                    break
            else:
                return np.concatenate([p.ravel() for p in params])
        if not isinstance(params, (list, tuple)):
            raise TypeError(f"params must be a list of arrays {list(self._names)}; "
                            f"got {type(params).__name__}")
        if len(params) != len(self._shapes):
            raise ValueError(f"params must hold {len(self._shapes)} arrays "
                             f"{list(self._names)} for sizes={self._sizes}, "
                             f"bias={self._bias}; got {len(params)}")
        flat = []
        for i, (p, shape, name) in enumerate(zip(params, self._shapes, self._names)):
            arg = f"params[{i}] ({name})"
            p = as_real_array(p, arg, self._dtype)
            if p.shape != shape:
                raise ValueError(f"{arg} must have shape {shape}; got shape {p.shape}")
            flat.append(p.ravel())
        return np.concatenate(flat) if len(flat) > 1 else np.ascontiguousarray(flat[0])

    def _unpack(self, theta):
        """Split a flat vector into arrays of the parameters' shapes (views)."""
        return [theta[a:b].reshape(shape) for a, b, shape in self._slices]

    def flatten(self, params):
        """The parameters as one flat vector.

        Parameters
        ----------
        params : list of array_like
            W1, [b1], W2, ... with the shapes of ``param_shapes``.

        Returns
        -------
        theta : ndarray, shape (n_params,), the net's dtype
            W1 row by row, then b1, W2, ... (a new array).
        """
        theta = self._pack(params)
        return theta.copy() if len(self._shapes) == 1 else theta

    def unflatten(self, theta):
        """Split a flat vector into the parameter arrays (the inverse of
        :meth:`flatten`).

        Parameters
        ----------
        theta : array_like, shape (n_params,)

        Returns
        -------
        params : list of ndarray
            W1, [b1], W2, ... in the net's dtype (new arrays).
        """
        theta = as_real_array(theta, "theta", self._dtype)
        if theta.shape != (self.n_params,):
            raise ValueError(f"theta must have shape ({self.n_params},) for "
                             f"{self!r}; got shape {theta.shape}")
        return [p.copy() for p in self._unpack(theta)]

    def objective(self, X, Y, *, sample_weight=None, alpha=0.0, n_threads=None):
        """A function ``f(theta) -> (loss, grad)`` of the flat parameters,
        for optimisers such as ``scipy.optimize.minimize(f, theta0, jac=True)``.

        X, Y and sample_weight are checked once, here. The loss includes the
        L2 penalty ``alpha / 2 * sum of squared weights`` (biases excluded).
        theta and grad are float64 vectors of length n_params.

        Examples
        --------
        >>> from scipy.optimize import minimize            # doctest: +SKIP
        >>> f = net.objective(X, Y)                         # doctest: +SKIP
        >>> res = minimize(f, net.flatten(net.init(0)), jac=True,
        ...                method="L-BFGS-B")               # doctest: +SKIP
        >>> params = net.unflatten(res.x)                  # doctest: +SKIP
        """
        X = check_X(X, self._sizes[0], self._dtype)
        Y = check_Y(Y, X.shape[0], self._sizes[-1], self._dtype)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], self._dtype)
        if not (np.isfinite(X).all() and np.isfinite(Y).all()):
            raise ValueError("X and Y must not contain NaN or infinity")
        mask = self.weight_mask()

        def f(theta):
            theta = np.ascontiguousarray(theta, dtype=self._dtype)
            loss, grad = self._value_and_grad_flat(theta, X, Y, sample_weight,
                                                   n_threads, alpha, mask)
            return loss, grad.astype(np.float64, copy=False)
        return f

    def weight_mask(self):
        """(n_params,) bool: True for entries of weight matrices, False for
        biases (the L2 penalty applies to weights only)."""
        mask = np.zeros(self.n_params, dtype=bool)
        for a, b, shape in self._slices:
            mask[a:b] = len(shape) == 2
        return mask

    def _value_and_grad_flat(self, theta, X, Y, sample_weight, n_threads,
                             alpha=0.0, mask=None, check_finite=False):
        """Loss and flat gradient for already-validated arrays (used by the
        optimisers, which call it many times on the same data)."""
        grad = np.empty(self._kernel.n_params, dtype=self._dtype)
        nt = _kernels.max_threads() if n_threads is None else n_threads
        status, where, loss_sum, weight_sum = self._krun(
            theta, X, Y, sample_weight, grad, None, _kernels.GRAD, nt,
            check_finite, True)
        if status:
            self._raise(status, where, self._unpack(theta), X, Y)
        loss = loss_sum / weight_sum
        if alpha:
            w = theta[mask]
            loss += 0.5 * alpha * float(np.dot(w, w))
            grad[mask] += alpha * w
        return loss, grad

    # ---- the computations
    def _run(self, params, X, Y, sample_weight, mode, n_threads, check_finite):
        """Validate, then one call into the kernel.
        Returns (loss, grad, weight_sum), or the predictions for PREDICT."""
        dt = self._dtype
        theta = self._pack(params)
        # the common case (arrays of the net's dtype and right shape) is
        # recognised with a few cheap tests; anything else goes to the checks
        if not (type(X) is np.ndarray and X.dtype == dt and X.ndim == 2
                and X.shape[1] == self._sizes[0] and X.shape[0] > 0):
            X = check_X(X, self._sizes[0], dt)
        N = X.shape[0]
        out = grad = None
        if mode == _kernels.PREDICT:
            out = np.empty((N, self._sizes[-1]), dtype=dt)
        else:
            K = self._sizes[-1]
            if (type(Y) is np.ndarray and Y.dtype == dt and Y.shape[0] == N
                    and (Y.shape == (N, K) or (K == 1 and Y.ndim == 1))):
                if Y.ndim == 1:
                    Y = Y.reshape(N, 1)
            else:
                Y = check_Y(Y, N, K, dt)
            if sample_weight is not None:
                sample_weight = check_sample_weight(sample_weight, N, dt)
            if mode == _kernels.GRAD:
                grad = np.empty(self._kernel.n_params, dtype=dt)
        nt = (_kernels.max_threads() if n_threads is None
              else check_n_threads(n_threads, _kernels.max_threads()))
        status, where, loss_sum, weight_sum = self._krun(
            theta, X, Y, sample_weight, grad, out, mode, nt, bool(check_finite), True)
        if status:
            self._raise(status, where, params, X, Y)
        if mode == _kernels.PREDICT:
            return out
        return loss_sum / weight_sum, grad, weight_sum

    def _raise(self, status, where, params, X, Y):
        hint = "; pass check_finite=False to skip this check"
        if status == _kernels.STATUS_PARAMS_NONFINITE:
            for i, (p, name) in enumerate(zip(params, self._names)):
                if not np.isfinite(np.asarray(p, dtype=self._dtype)).all():
                    raise ValueError(f"params[{i}] ({name}) contains NaN or "
                                     f"infinity{hint}")
        if status == _kernels.STATUS_X_NONFINITE:
            row = first_nonfinite_row(X, where, where + self._kernel.block)
            raise ValueError(f"X contains NaN or infinity (first at row {row}){hint}")
        if status == _kernels.STATUS_Y_NONFINITE:
            row = first_nonfinite_row(Y, where, where + self._kernel.block)
            raise ValueError(f"Y contains NaN or infinity (first at row {row}){hint}")
        raise MemoryError("tinynet: could not allocate the kernel's scratch memory")

    def predict(self, params, X, *, n_threads=None, check_finite=True):
        """The network's output.

        Parameters
        ----------
        params : list of ndarray
            W1, [b1], W2, ... as returned by :meth:`init`.
        X : array_like, shape (N, sizes[0])
        n_threads : int, optional
            Threads to use; default all (OpenMP's count, which honours
            OMP_NUM_THREADS and threadpoolctl). Results do not depend on it.
        check_finite : bool, default True
            Raise ValueError if X or params hold NaN or infinity.

        Returns
        -------
        yhat : ndarray, shape (N, sizes[-1]), the net's dtype
        """
        # arrays of the net's dtype and shapes: checked and run at C speed
        # (n_threads 0: the kernel asks OpenMP)
        nt = 0 if n_threads is None else check_n_threads(n_threads, _kernels.max_threads())
        result = self._kfast(_PREDICT, params, X, None, None, check_finite, nt)
        if result is not None:
            return result
        return self._run(params, X, None, None, _kernels.PREDICT, n_threads,
                         check_finite)

    def _loss_value(self, params, X, Y, *, sample_weight=None, n_threads=None,
                    check_finite=True):
        """The loss, averaged over samples (or weighted by sample_weight).

        Called as ``net.loss(params, X, Y)``; ``net.loss`` is also the loss's
        name, a str equal to "mse", "bce" or "ce".

        Parameters
        ----------
        params : list of ndarray
            W1, [b1], W2, ... as returned by :meth:`init`.
        X : array_like, shape (N, sizes[0])
        Y : array_like, shape (N, sizes[-1]), or (N,) when sizes[-1] == 1
        sample_weight : array_like, shape (N,), optional
            Non-negative weights s_i; the loss is sum_i s_i l_i / sum_i s_i.
        n_threads, check_finite
            As in :meth:`predict` (check_finite covers Y too).

        Returns
        -------
        loss : float
        """
        nt = 0 if n_threads is None else check_n_threads(n_threads, _kernels.max_threads())
        result = self._kfast(_LOSS, params, X, Y, sample_weight,
                             check_finite, nt)
        if result is not None:
            return result
        return float(self._run(params, X, Y, sample_weight, _kernels.LOSS,
                               n_threads, check_finite)[0])

    def value_and_grad(self, params, X, Y, *, sample_weight=None, n_threads=None,
                       check_finite=True, out=None):
        """The loss and its exact gradient with respect to every parameter.

        Parameters
        ----------
        params, X, Y, sample_weight, n_threads, check_finite
            As in ``net.loss(params, X, Y, ...)``.
        out : list of ndarray, optional
            Arrays to write the gradients into, one per parameter, of its
            shape and the net's dtype, writable (C-contiguous ones are
            fastest), not overlapping each other. They are written after the
            computation, so they may be the arrays of ``params`` themselves.
            Saves allocating the gradients on every call (a training loop).

        Returns
        -------
        loss : float
        grads : list of ndarray
            dL/dW1, [dL/db1], dL/dW2, ... with the shapes of ``params``, in
            the net's dtype: the arrays of ``out`` if given, else fresh arrays
            (they share no memory with the inputs).
        """
        nt = 0 if n_threads is None else check_n_threads(n_threads, _kernels.max_threads())
        result = self._kfast(_GRAD, params, X, Y, sample_weight,
                             check_finite, nt, out)
        if result is not None:
            return result
        if out is not None:
            out = self._check_out(out)
        loss, grad, _ = self._run(params, X, Y, sample_weight, _kernels.GRAD,
                                  n_threads, check_finite)
        grads = self._unpack(grad)
        if out is None:
            return float(loss), grads
        for o, g in zip(out, grads):
            o[...] = g
        return float(loss), out

    def _check_out(self, out):
        """`out` of value_and_grad as a list, checked: arrays of the
        parameters' shapes and the net's dtype, writable."""
        if not isinstance(out, (list, tuple)):
            raise TypeError(f"out must be a list of arrays {list(self._names)}; "
                            f"got {type(out).__name__}")
        if len(out) != len(self._shapes):
            raise ValueError(f"out must hold {len(self._shapes)} arrays "
                             f"{list(self._names)}; got {len(out)}")
        for i, (o, shape, name) in enumerate(zip(out, self._shapes, self._names)):
            arg = f"out[{i}] ({name})"
            if not isinstance(o, np.ndarray):
                raise TypeError(f"{arg} must be a numpy array of shape {shape} and "
                                f"dtype {self._dtype.name}; got {type(o).__name__}")
            if o.dtype != self._dtype:
                raise TypeError(f"{arg} must have dtype {self._dtype.name} (the "
                                f"net's); got {o.dtype}")
            if o.shape != shape:
                raise ValueError(f"{arg} must have shape {shape}; got shape {o.shape}")
            if not o.flags.writeable:
                raise ValueError(f"{arg} must be writable; got a read-only array")
        return list(out)
