"""The tinynet command, run as a user would (a subprocess, from another folder)."""
import csv
import subprocess
import sys

import numpy as np
import pytest

import tinynet


def run(args, cwd, check=True):
    proc = subprocess.run([sys.executable, "-m", "tinynet", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def regression_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
    path = tmp_path / "data.csv"
    write_csv(path, ["u", "v", "w", "y"], [[repr(float(v)) for v in x] + [repr(float(t))]
                                          for x, t in zip(X, y)])
    return path


def test_demo_trains_checks_and_writes_files(tmp_path):
    out = tmp_path / "demo"
    proc = run(["demo", "--out", str(out)], cwd=tmp_path)
    assert "loss fell from" in proc.stdout and "OK" in proc.stdout
    first, last = [float(line.split()[-1]) for line in proc.stdout.splitlines()
                   if line.strip().startswith("epoch")][::10][:2]
    assert last < first / 10
    net, params = tinynet.load(out / "seed-model.npz")
    assert net == tinynet.MLP()


def test_train_predict_round_trip(tmp_path, regression_csv):
    model = tmp_path / "m.npz"
    run(["train", str(regression_csv), "--target", "y", "--hidden", "8", "--activation",
         "tanh", "--epochs", "300", "--lr", "0.02", "--out", str(model), "--quiet"], tmp_path)
    # predict picks the feature columns by name, in any order, target ignored
    rows = list(csv.reader(open(regression_csv)))
    header, body = rows[0], rows[1:]
    order = [3, 2, 0, 1]
    newcsv = tmp_path / "new.csv"
    write_csv(newcsv, [header[i] for i in order], [[r[i] for i in order] for r in body])
    out = tmp_path / "pred.csv"
    run(["predict", str(model), str(newcsv), "--out", str(out)], tmp_path)
    pred = list(csv.reader(open(out)))
    assert pred[0][-1] == "pred_y" and len(pred) == len(rows)
    m = tinynet.read_model(model)
    X = np.array([[float(v) for v in r[:3]] for r in body])
    Xs = (X - np.array(m.extra["mean"])) / np.array(m.extra["scale"])
    got = np.array([float(r[-1]) for r in pred[1:]])
    np.testing.assert_array_equal(got, m.net.predict(m.params, Xs)[:, 0])
    y = np.array([float(r[3]) for r in body])
    assert np.mean((got - y) ** 2) < 0.2 * np.var(y)


def test_train_classification_with_labels(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    labels = np.where(X[:, 0] > 0, "yes", "no")
    path = tmp_path / "c.csv"
    write_csv(path, ["a", "b", "label"], [[repr(float(a)), repr(float(b)), c]
                                         for (a, b), c in zip(X, labels)])
    proc = run(["train", str(path), "--target", "label", "--loss", "ce", "--hidden", "4",
                "--epochs", "200", "--out", str(tmp_path / "c.npz")], tmp_path)
    acc = float(proc.stdout.split("accuracy on its rows")[1].split()[0].rstrip(","))
    assert acc > 0.9
    run(["predict", str(tmp_path / "c.npz"), str(path), "--out", str(tmp_path / "p.csv")], tmp_path)
    header = next(csv.reader(open(tmp_path / "p.csv")))
    assert header[-2:] == ["p_no", "p_yes"]


@pytest.mark.parametrize("case,code,words", [
    ("text-cell", 1, ["line 3", "'v'", "'oops' is not a number"]),
    ("missing-target", 1, ["no column named 'nope'"]),
    ("unknown-option", 2, ["unrecognized arguments: --frobnicate"]),
    ("corrupt-model", 1, ["not a valid tinynet model file"]),
    ("missing-file", 1, ["no such file"]),
])
def test_errors_are_one_line_no_traceback(tmp_path, regression_csv, case, code, words):
    bad = tmp_path / "bad.csv"
    write_csv(bad, ["u", "v", "w", "y"], [["1", "2", "3", "4"], ["1", "oops", "3", "4"]])
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    args = {"text-cell": ["train", str(bad), "--target", "y", "--out", "x.npz"],
            "missing-target": ["train", str(regression_csv), "--target", "nope", "--out", "x.npz"],
            "unknown-option": ["train", str(regression_csv), "--target", "y", "--out", "x.npz",
                               "--frobnicate"],
            "corrupt-model": ["predict", str(corrupt), str(regression_csv)],
            "missing-file": ["predict", str(tmp_path / "none.npz"), str(regression_csv)]}[case]
    proc = run(args, tmp_path, check=False)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0]


def test_gradcheck_command(tmp_path, regression_csv):
    proc = run(["gradcheck"], tmp_path)
    assert "W1[0, 0]" in proc.stdout and "OK" in proc.stdout
    model = tmp_path / "m.npz"
    run(["train", str(regression_csv), "--target", "y", "--epochs", "5", "--out", str(model),
         "--quiet"], tmp_path)
    proc = run(["gradcheck", str(model), "--data", str(regression_csv), "--rows", "30"], tmp_path)
    assert "b1[0]" in proc.stdout and "OK" in proc.stdout


def test_help_has_examples(tmp_path):
    for cmd in ["demo", "train", "predict", "gradcheck"]:
        out = run([cmd, "--help"], tmp_path).stdout
        assert "example" in out and f"tinynet {cmd}" in out


def test_csv_with_bom_and_text_labels_hint(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n".encode("utf-8"))
    proc = run(["train", str(path), "--target", "label", "--out", "m.npz"], tmp_path, check=False)
    assert proc.returncode == 1
    assert "'cat' is not a number (for a column of class labels use --loss ce)" in proc.stderr
    run(["train", str(path), "--target", "label", "--loss", "ce", "--out", "m.npz", "--quiet"],
        tmp_path)
    out = run(["predict", "m.npz", str(path)], tmp_path).stdout.splitlines()
    assert out[0] == "a,b,label,p_cat,p_dog" and len(out) == 4
