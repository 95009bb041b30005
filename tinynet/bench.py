"""Benchmark suite: tinynet's value_and_grad against the NumPy reference and
peers (PyTorch, JAX, Numba, when installed), side by side in one run.

Run ``python benchmarks/bench.py --help`` (or ``tinynet bench``). Prints a table
of medians and ratios and writes JSON. Times are medians of repeated calls;
ratios are the peer's median over tinynet's median on the same inputs in the
same run (>1: tinynet is faster).

Two limits frame the numbers for the seed network:
- exp limit: np.exp over 5N values (one per sigmoid), in cache-sized blocks
  written to a preallocated output;
- streaming limit: one pass over X and Y (np.add.reduce of each).
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

import tinynet
from tinynet import reference

CASES = {
    "seed": dict(sizes=(3, 4, 1)),
    "32-64-1": dict(sizes=(32, 64, 1), activation="tanh", output="identity",
                    loss="mse", bias=True),
    "784-128-10": dict(sizes=(784, 128, 10), activation="relu", output="softmax",
                       loss="ce", bias=True),
    # more shapes, not in the default run: deep and narrow, deep and square,
    # a binary classifier whose hidden width is not a multiple of the tiles
    "8-16-16-1": dict(sizes=(8, 16, 16, 1), activation="tanh", output="identity",
                      loss="mse", bias=True),
    "64-64-64-1": dict(sizes=(64, 64, 64, 1), activation="relu", output="identity",
                       loss="mse", bias=True),
    "20-50-1": dict(sizes=(20, 50, 1), activation="relu", output="sigmoid",
                    loss="bce", bias=True),
}


def median_time(fn, min_reps=3, budget=0.5, max_reps=2000, warmup=0.02):
    """Median wall time of fn() over repeats that fit in about `budget` s,
    after a warm-up of at least `warmup` s (JIT compilation, caches, page
    faults, and the core's clock: the first of several short measurements
    in a row would otherwise pay for it alone)."""
    fn()
    t_start = t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    while time.perf_counter() - t_start < warmup:
        fn()
    reps = int(min(max_reps, max(min_reps, budget / once)))
    inner = max(1, int(1e-4 / once))       # batch very short calls
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def make_data(net, N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, net.sizes[0]), dtype=np.float64).astype(dtype)
    K = net.sizes[-1]
    if net.loss_name == "ce":
        Y = np.eye(K, dtype=dtype)[rng.integers(0, K, size=N)]
    else:
        Y = rng.random((N, K)).astype(dtype)
    return X, Y


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------
def torch_fn(net, params, X, Y, threads):
    import torch
    torch.set_num_threads(threads)
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "identity": lambda h: h}
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
    step = 2 if net.bias else 1

    def run():
        for p in tp:
            p.grad = None
        A = tX
        layers = [(tp[i], tp[i + 1] if net.bias else None) for i in range(0, len(tp), step)]
        for l, (W, b) in enumerate(layers):
            H = A @ W if b is None else torch.addmm(b, A, W)
            A = acts[net.activation](H) if l < len(layers) - 1 else H
        if net.loss_name == "ce":
            loss = -(tY * torch.log_softmax(A, dim=1)).sum() / len(tX)
        elif net.loss_name == "bce":
            bce = torch.nn.functional.binary_cross_entropy_with_logits
            loss = bce(A, tY, reduction="sum") / len(tX)
        else:
            yhat = torch.sigmoid(A) if net.output == "sigmoid" else (
                torch.softmax(A, dim=1) if net.output == "softmax" else A)
            loss = ((yhat - tY) ** 2).sum() / (2 * len(tX))
        loss.backward()
        return float(loss.detach())
    return run


@contextlib.contextmanager
def one_core():
    """Every thread of this process pinned to one CPU while the block runs
    (Linux; yields False, pinning nothing, elsewhere): how a peer that sizes
    its own thread pool (JAX's XLA) does on one core."""
    if not hasattr(os, "sched_setaffinity") or not os.path.isdir("/proc/self/task"):
        yield False
        return
    old = {}
    for tid in (int(t) for t in os.listdir("/proc/self/task")):
        try:
            old[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, {min(old[tid])})
        except OSError:                    # the thread ended meanwhile
            pass
    try:
        yield True
    finally:
        for tid, cpus in old.items():
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass


def jax_fn(net, params, X, Y):
    import jax
    import jax.numpy as jnp
    if X.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    acts = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu,
            "identity": lambda h: h}
    step = 2 if net.bias else 1

    def loss_fn(ps, X, Y):
        A = X
        layers = [(ps[i], ps[i + 1] if net.bias else None) for i in range(0, len(ps), step)]
        for l, (W, b) in enumerate(layers):
            H = A @ W if b is None else A @ W + b
            A = acts[net.activation](H) if l < len(layers) - 1 else H
        if net.loss_name == "ce":
            return -(Y * jax.nn.log_softmax(A, axis=1)).sum() / X.shape[0]
        yhat = {"sigmoid": jax.nn.sigmoid, "identity": lambda o: o,
                "softmax": lambda o: jax.nn.softmax(o, axis=1)}[net.output](A)
        return ((yhat - Y) ** 2).sum() / (2 * X.shape[0])

    f = jax.jit(jax.value_and_grad(loss_fn))
    jp = [jnp.asarray(p) for p in params]
    jX, jY = jnp.asarray(X), jnp.asarray(Y)

    def run():
        v, g = f(jp, jX, jY)
        jax.block_until_ready(g)
        return v
    return run


def numba_seed_fns(params, X, Y):
    """The seed network as one fused loop over samples, serial and parallel
    (64 chunks under prange, added at the end)."""
    import numba

    @numba.njit(cache=False)
    def accumulate(W1, W2, X, Y, lo, hi, G):
        """G[0:12] += dW1 sums, G[12:16] += dW2 sums, G[16] += loss sum."""
        z = np.empty(4)
        for i in range(lo, hi):
            o = 0.0
            for l in range(4):
                h = X[i, 0] * W1[0, l] + X[i, 1] * W1[1, l] + X[i, 2] * W1[2, l]
                z[l] = 1.0 / (1.0 + np.exp(-h))
                o += z[l] * W2[l, 0]
            yh = 1.0 / (1.0 + np.exp(-o))
            r = yh - Y[i, 0]
            G[16] += 0.5 * r * r
            d = r * yh * (1.0 - yh)
            for l in range(4):
                G[12 + l] += d * z[l]
                dh = d * W2[l, 0] * z[l] * (1.0 - z[l])
                for k in range(3):
                    G[k * 4 + l] += dh * X[i, k]

    @numba.njit(cache=False)
    def serial(W1, W2, X, Y):
        G = np.zeros(17)
        accumulate(W1, W2, X, Y, 0, X.shape[0], G)
        return G / X.shape[0]

    @numba.njit(parallel=True, cache=False)
    def parallel(W1, W2, X, Y):
        N = X.shape[0]
        G = np.zeros((64, 17))
        for c in numba.prange(64):
            accumulate(W1, W2, X, Y, c * N // 64, (c + 1) * N // 64, G[c])
        return G.sum(axis=0) / N

    W1, W2 = params
    return (lambda: serial(W1, W2, X, Y)), (lambda: parallel(W1, W2, X, Y))


def limits(net, X, Y):
    """(exp limit, streaming limit) callables for this net and data."""
    n_exp = X.shape[0] * (sum(net.sizes[1:-1]) + net.sizes[-1])
    block = 1 << 14
    src = np.random.default_rng(1).standard_normal(block).astype(X.dtype)
    out = np.empty(block, dtype=X.dtype)
    full, rest = divmod(n_exp, block)

    def exp_limit():
        for _ in range(full):
            np.exp(src, out=out)
        np.exp(src[:rest], out=out[:rest])

    def stream_limit():
        np.add.reduce(X, axis=None)
        np.add.reduce(Y, axis=None)
    return exp_limit, stream_limit


# ---------------------------------------------------------------------------
def available_peers():
    found = {}
    for name in ("torch", "jax", "numba", "threadpoolctl"):
        try:
            mod = __import__(name)
            found[name] = getattr(mod, "__version__", "?")
        except Exception:
            pass
    return found


def run_case(case, N, dtype, threads, peers, log):
    net = tinynet.MLP(dtype=dtype, **CASES[case])
    params = net.init(seed=0)
    X, Y = make_data(net, N, dtype)
    Yc = Y.reshape(N, -1)
    rows = {}

    def measure(name, fn):
        try:
            rows[name] = median_time(fn)
        except Exception as exc:             # a peer failing is reported, not fatal
            log(f"    {name}: failed ({type(exc).__name__}: {exc})")

    for nt in threads:
        measure(f"tinynet {nt}T",
                lambda nt=nt: net.value_and_grad(params, X, Yc, n_threads=nt))
    big = N * sum(net.sizes) > 2e8           # the reference keeps N x width arrays
    if not big:
        if "threadpoolctl" in peers:
            from threadpoolctl import threadpool_limits
            with threadpool_limits(1):
                measure("numpy ref 1T", lambda: reference.value_and_grad(net, params, X, Yc))
        else:
            measure("numpy ref", lambda: reference.value_and_grad(net, params, X, Yc))
    if "torch" in peers and not big:
        for nt in threads:
            measure(f"torch {nt}T", torch_fn(net, params, X, Yc, nt))
    if "jax" in peers and not big:
        jf = jax_fn(net, params, X, Yc)
        measure("jax jit", jf)             # XLA's own threads: all cores
        with one_core() as pinned:
            if pinned:
                measure("jax jit 1 core", jf)
    if "numba" in peers and case == "seed" and dtype == "float64":
        ser, par = numba_seed_fns(params, X, Yc)
        measure("numba 1T", ser)
        measure(f"numba {max(threads)}T", par)
    exp_limit, stream_limit = limits(net, X, Yc)
    measure("exp limit", exp_limit)
    measure("stream limit", stream_limit)
    return rows


def fmt_time(t):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tinynet bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="seed,32-64-1,784-128-10",
                        help="comma-separated of: " + ", ".join(CASES))
    parser.add_argument("--sizes", default="32,1000,100000,1000000",
                        help="sample counts N, comma-separated (default %(default)s; "
                             "add 10000000 for the full suite)")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", default=None,
                        help="thread counts, comma-separated (default: 1 and all)")
    parser.add_argument("--json", default="bench-results.json", help="output file")
    args = parser.parse_args(argv)

    all_threads = tinynet._dispatch.kernels.max_threads()
    threads = ([int(t) for t in args.threads.split(",")] if args.threads
               else sorted({1, all_threads}))
    peers = available_peers()

    def log(msg):
        print(msg, flush=True)
    from tinynet._config import config
    meta = {"config": config(), "peers": peers, "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    log(f"tinynet {tinynet.__version__} ({meta['config']['simd_variant']}), "
        f"threads {threads}, peers: {peers or 'none installed'}")
    results = []
    for case in args.cases.split(","):
        for dtype in args.dtypes.split(","):
            for N in (int(float(n)) for n in args.sizes.split(",")):
                if N * CASES[case]["sizes"][0] > 2e9:      # keep X under ~16 GB
                    continue
                rows = run_case(case, N, dtype, threads, peers, log)
                base = rows.get("tinynet 1T")
                log(f"\n{case} {dtype} N={N:,}")
                for name, t in rows.items():
                    ratio = f"{t / base:6.2f}x" if base else ""
                    log(f"  {name:<16} {fmt_time(t):>10}  {ratio}")
                results.append({"case": case, "dtype": dtype, "N": N,
                                "median_s": rows})
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    log(f"\nratios are time / (tinynet 1 thread); JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
