"""The ``tinynet`` command: demo, train, predict, gradcheck, bench.

Exit status: 0 on success, 1 for a data error (unreadable file, bad value,
failed gradient check), 2 for a usage error. Errors are one line on stderr.
"""
import argparse
import csv
import os
import sys

import numpy as np

import tinynet
from tinynet._fit import fit
from tinynet._gradcheck import check_grad
from tinynet._io import read_model, save

EXAMPLES = {
    "demo": "tinynet demo\n  tinynet demo --out /tmp/seed --epochs 3000",
    "train": ("tinynet train data.csv --target y --hidden 8 --epochs 300 --out model.npz\n"
              "  tinynet train iris.csv --target species --loss ce --hidden 16 "
              "--activation tanh --out iris.npz --plot loss.png"),
    "predict": "tinynet predict model.npz new.csv --out predictions.csv",
    "gradcheck": "tinynet gradcheck\n  tinynet gradcheck model.npz --data data.csv --rows 50",
    "bench": "tinynet bench --cases seed --sizes 32,100000",
}


class DataError(Exception):
    """A problem with the user's files or data (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------
def read_csv(path):
    """(header, rows) of a CSV file with a header row; rows are lists of str."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:   # tolerate a BOM
            reader = csv.reader(f)
            header = next(reader, None)
            if not header:
                raise DataError(f"{path}: empty file (a header row is required)")
            header = [h.strip() for h in header]
            rows = []
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}, line {lineno}: {len(row)} fields, "
                                    f"but the header has {len(header)}")
                rows.append((lineno, row))
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise DataError(f"{path}: no data rows")
    return header, rows


def column_index(path, header, names):
    idx = []
    for name in names:
        if name not in header:
            raise DataError(f"{path}: no column named {name!r} "
                            f"(columns: {', '.join(header)})")
        idx.append(header.index(name))
    return idx


def numeric(path, rows, header, idx):
    """The columns `idx` of `rows` as a float64 array; names the first bad cell."""
    out = np.empty((len(rows), len(idx)))
    for r, (lineno, row) in enumerate(rows):
        for c, j in enumerate(idx):
            cell = row[j].strip()
            if not cell:
                raise DataError(f"{path}, line {lineno}, column {header[j]!r}: missing value")
            try:
                v = float(cell)
            except ValueError:
                raise DataError(f"{path}, line {lineno}, column {header[j]!r}: "
                                f"{cell!r} is not a number") from None
            if not np.isfinite(v):
                raise DataError(f"{path}, line {lineno}, column {header[j]!r}: "
                                f"{cell!r} is not a finite number")
            out[r, c] = v
    return out


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text, what):
    try:
        vals = [int(t) for t in _split(text)]
    except ValueError:
        raise DataError(f"{what} must be comma-separated integers; got {text!r}") from None
    if not vals or min(vals) < 1:
        raise DataError(f"{what} must be positive integers; got {text!r}")
    return vals


# ---------------------------------------------------------------------------
# model files of the command line: scaling and column names in `extra`
# ---------------------------------------------------------------------------
def standardized(X, extra):
    """X scaled as at training time: (X - mean) / scale, in float64."""
    if not extra.get("standardize", False):
        return X
    return (X - np.asarray(extra["mean"])) / np.asarray(extra["scale"])


def _output_names(extra, K):
    if extra.get("classes"):
        return [f"p_{c}" for c in extra["classes"]]
    targets = extra.get("targets") or [f"y{k}" for k in range(K)]
    return [f"pred_{t}" for t in targets]


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
DEMO_TEACHER_W1 = np.array([[1.5, -2.0, 0.5, 1.0],
                            [-1.0, 1.0, 2.0, -0.5],
                            [0.5, 1.5, -1.0, 2.0]])
DEMO_TEACHER_W2 = np.array([[2.0], [-3.0], [1.5], [-1.0]])


def demo_data(n=1000, seed=0):
    """The demo's dataset: X uniform on [-2, 2]^3; Y the output of a 'teacher'
    seed network with fixed weights (DEMO_TEACHER_W1, DEMO_TEACHER_W2), so the
    seed network can learn it exactly."""
    X = np.random.default_rng(seed).uniform(-2, 2, size=(n, 3))
    Y = tinynet.MLP().predict([DEMO_TEACHER_W1, DEMO_TEACHER_W2], X)
    return X, Y


def cmd_demo(args):
    out = args.out
    os.makedirs(out, exist_ok=True)
    X, Y = demo_data()
    net = tinynet.MLP()
    print(f"tinynet {tinynet.__version__}: the seed network {net}")
    print("data: 1000 samples, X uniform on [-2, 2]^3, Y from a 'teacher' seed "
          "network with fixed weights")
    params0 = net.init(seed=args.seed)
    loss0 = net.loss(params0, X, Y)
    print(f"initial loss {loss0:.6f}; training with {args.optimizer} for {args.epochs} epochs")
    params, hist = fit(net, X, Y, params0, optimizer=args.optimizer, lr=args.lr,
                       epochs=args.epochs, seed=args.seed,
                       verbose=2 if sys.stderr.isatty() else 1)
    step = max(1, len(hist) // 10)
    for e in list(range(0, len(hist), step)) + [len(hist) - 1]:
        print(f"  epoch {hist.epoch[e] + 1:5d}  loss {hist.train_loss[e]:.3e}")
    final = net.loss(params, X, Y)
    print(f"loss fell from {loss0:.3e} to {final:.3e} ({loss0 / final:.0f}x)")
    print("\ngradient check of the seed's formulas at the initial weights "
          "(analytic vs finite differences):")
    gc = check_grad(net, params0, X, Y)
    print(gc)
    model = os.path.join(out, "seed-model.npz")
    save(model, net, params, extra={"demo": True})
    print(f"\nmodel written to {model}")
    try:
        png = hist.plot(os.path.join(out, "loss.png"), title="tinynet demo: seed network")
        print(f"loss curve written to {png}")
    except ImportError as exc:
        print(f"no loss curve: {exc}")
    return 0 if gc.ok else 1


def cmd_train(args):
    header, rows = read_csv(args.data)
    targets = _split(args.target)
    t_idx = column_index(args.data, header, targets)
    features = (_split(args.features) if args.features
                else [h for h in header if h not in targets])
    if not features:
        raise DataError(f"{args.data}: no feature columns besides the target")
    f_idx = column_index(args.data, header, features)
    X = numeric(args.data, rows, header, f_idx)
    loss = args.loss or "mse"
    output = args.output or {"mse": "identity", "bce": "sigmoid", "ce": "softmax"}[loss]
    classes = None
    if loss == "ce":
        if len(targets) != 1:
            raise DataError("--loss ce takes one --target column of class labels")
        labels = [row[t_idx[0]].strip() for _, row in rows]
        for (lineno, _), lab in zip(rows, labels):
            if not lab:
                raise DataError(f"{args.data}, line {lineno}, column {targets[0]!r}: missing value")
        classes = sorted(set(labels), key=lambda c: (_num_key(c), c))
        Y = (np.array(labels)[:, None] == np.array(classes)[None, :]).astype(float)
    else:
        try:
            Y = numeric(args.data, rows, header, t_idx)
        except DataError as exc:
            if "is not a number" in str(exc):
                raise DataError(f"{exc} (for a column of class labels use --loss ce)") from None
            raise
    K = Y.shape[1]
    if args.sizes:
        sizes = _ints(args.sizes, "--sizes")
        if sizes[0] != len(features) or sizes[-1] != K:
            raise DataError(f"--sizes {args.sizes}: the data has {len(features)} features "
                            f"and {K} outputs, so sizes must run from {len(features)} to {K}")
    else:
        sizes = [len(features)] + _ints(args.hidden, "--hidden") + [K]
    extra = {"features": features, "targets": targets, "classes": classes,
             "standardize": not args.no_standardize}
    if extra["standardize"]:
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        extra["mean"], extra["scale"] = mean.tolist(), scale.tolist()
    Xs = standardized(X, extra)
    try:
        net = tinynet.MLP(sizes, args.activation, output, loss, not args.no_bias, args.dtype)
    except (TypeError, ValueError) as exc:
        raise DataError(str(exc)) from None
    if args.batch_size < 0:
        raise DataError(f"--batch-size must be >= 0; got {args.batch_size}")
    params, hist = fit(net, Xs, Y, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                       batch_size=args.batch_size or None, seed=args.seed, alpha=args.alpha,
                       validation_fraction=args.validation_fraction,
                       verbose=0 if args.quiet else 1)
    yhat = net.predict(params, Xs)
    msg = f"trained {net} for {len(hist)} epochs: loss {hist.train_loss[-1]:.6g}"
    if loss == "ce":
        msg += f", accuracy on its rows {np.mean(yhat.argmax(1) == Y.argmax(1)):.4f}"
    elif loss == "bce":
        msg += f", accuracy on its rows {np.mean((yhat > 0.5) == (Y > 0.5)):.4f}"
    else:
        ss = ((Y - Y.mean(0)) ** 2).sum()
        msg += f", R^2 on its rows {1 - ((Y - yhat) ** 2).sum() / ss:.4f}" if ss > 0 else ""
    if not args.quiet:
        print(msg)
    save(args.out, net, params, extra=extra)
    if not args.quiet:
        print(f"model written to {args.out}")
    if args.plot:
        hist.plot(args.plot)
        if not args.quiet:
            print(f"loss curve written to {args.plot}")
    return 0


def _num_key(c):
    try:
        return (0, float(c))
    except ValueError:
        return (1, 0.0)


def cmd_predict(args):
    model = read_model(args.model)
    net, params, extra = model.net, model.params, model.extra
    header, rows = read_csv(args.data)
    features = extra.get("features") or header[:net.sizes[0]]
    if len(features) != net.sizes[0]:
        raise DataError(f"{args.model}: records {len(features)} features for "
                        f"{net.sizes[0]} inputs")
    X = numeric(args.data, rows, header, column_index(args.data, header, features))
    yhat = net.predict(params, standardized(X, extra).astype(net.dtype))
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        w = csv.writer(out)
        w.writerow(header + _output_names(extra, net.sizes[-1]))
        for (_, row), y in zip(rows, yhat):
            w.writerow(row + [repr(float(v)) for v in y])
    finally:
        if args.out:
            out.close()
    return 0


def cmd_gradcheck(args):
    if args.model is None:
        X, Y = demo_data(200)
        net = tinynet.MLP()
        params = net.init(seed=args.seed)
        print("the seed network at random weights, on the demo data (200 samples)")
    else:
        model = read_model(args.model)
        net, params, extra = model.net, model.params, model.extra
        if args.data is None:
            raise DataError("gradcheck of a model file needs --data DATA.csv")
        header, rows = read_csv(args.data)
        rows = rows[:args.rows]
        X = standardized(numeric(args.data, rows, header,
                                 column_index(args.data, header, extra["features"])), extra)
        if extra.get("classes"):
            t = column_index(args.data, header, extra["targets"])[0]
            labels = np.array([row[t].strip() for _, row in rows])
            Y = (labels[:, None] == np.array(extra["classes"])[None, :]).astype(float)
        else:
            Y = numeric(args.data, rows, header, column_index(args.data, header, extra["targets"]))
        print(f"{net} on {len(X)} rows of {args.data}")
    gc = check_grad(net, params, X, Y)
    print(gc.table(limit=args.limit))
    print(gc.summary())
    return 0 if gc.ok else 1


def cmd_bench(args, rest):
    from tinynet.bench import main as bench_main
    return bench_main(rest)


def build_parser():
    p = _Parser(prog="tinynet", description="Loss, exact gradients and training of "
                "small multilayer perceptrons.",
                epilog="examples:\n  " + "\n  ".join(v.split("\n")[0] for v in EXAMPLES.values()),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"tinynet {tinynet.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name, help_):
        return sub.add_parser(name, help=help_, description=help_,
                              epilog="example:\n  " + EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    d = add("demo", "train the seed network on a built-in dataset, check its gradient, "
                    "write a model file and a loss-curve PNG")
    d.add_argument("--out", default="tinynet-demo", help="output folder (default %(default)s)")
    d.add_argument("--epochs", type=int, default=2000)
    d.add_argument("--optimizer", default="adam", choices=["adam", "sgd", "gd", "lbfgs"])
    d.add_argument("--lr", type=float, default=0.05)
    d.add_argument("--seed", type=int, default=0)

    t = add("train", "train a network on a CSV file (header row, numeric features)")
    t.add_argument("data", help="CSV file")
    t.add_argument("--target", required=True, help="target column(s), comma-separated")
    t.add_argument("--features", help="feature columns, comma-separated (default: all others)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--hidden", default="4", help="hidden widths, comma-separated (default 4)")
    g.add_argument("--sizes", help="all layer widths, e.g. 3,4,1")
    t.add_argument("--activation", default="sigmoid",
                   choices=["sigmoid", "tanh", "relu", "identity"])
    t.add_argument("--output", choices=["sigmoid", "identity", "softmax"],
                   help="default: identity for mse, sigmoid for bce, softmax for ce")
    t.add_argument("--loss", choices=["mse", "bce", "ce"],
                   help="mse (default), bce (0/1 targets), ce (class labels)")
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd", "gd", "lbfgs"])
    t.add_argument("--lr", type=float, default=None, help="learning rate")
    t.add_argument("--epochs", type=int, default=200)
    t.add_argument("--batch-size", type=int, default=200,
                   help="samples per step (default 200, or all if fewer, as "
                        "scikit-learn's MLP); 0 for the full batch")
    t.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    t.add_argument("--validation-fraction", type=float, default=None,
                   help="hold out this fraction for early stopping")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    t.add_argument("--no-bias", action="store_true", help="layers without biases")
    t.add_argument("--no-standardize", action="store_true",
                   help="do not standardise the features")
    t.add_argument("--out", required=True, help="model file to write (.npz)")
    t.add_argument("--plot", help="write the loss curve to this image file")
    t.add_argument("--quiet", action="store_true")

    r = add("predict", "predict with a model file on a CSV file")
    r.add_argument("model")
    r.add_argument("data")
    r.add_argument("--out", help="CSV file to write (default: standard output)")

    c = add("gradcheck", "compare analytic and finite-difference gradients, weight by weight")
    c.add_argument("model", nargs="?")
    c.add_argument("--data")
    c.add_argument("--rows", type=int, default=200, help="rows of the data to use")
    c.add_argument("--limit", type=int, default=40, help="rows of the table to print")
    c.add_argument("--seed", type=int, default=0)

    add("bench", "run the benchmark suite (tinynet bench --help for its options)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv and argv[0] == "bench":
        return cmd_bench(None, argv[1:])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"demo": cmd_demo, "train": cmd_train, "predict": cmd_predict,
                "gradcheck": cmd_gradcheck}[args.command](args)
    except DataError as exc:
        print(f"tinynet {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:        # e.g. a damaged model file
        print(f"tinynet {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"tinynet {args.command}: error: {exc.filename}: no such file", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"tinynet {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tinynet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
