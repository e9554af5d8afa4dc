"""XGBoost's side of `meshkit bench --only trees` (Debian's python3-xgboost, /usr/bin/python3).

  xgboost-bench.py train DIR   train the bench model (100 trees of depth 6, 32 features,
                               binary:logistic, 5% missing values) into DIR/model.ubj and
                               DIR/model.xgb.json, DIR/rows.f32 (ROWS × 32 float32, NaN = missing)
                               and DIR/pred.f32 (Booster.predict on them)
  xgboost-bench.py time DIR SECONDS BATCHES   rows per second of inplace_predict and of
                               DMatrix + predict at each batch size, with nthread=1 and with
                               XGBoost's default threads; one JSON object on stdout
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb

FEATURES = 32
ROWS = 4096


def train(d):
    rng = np.random.default_rng(11)
    n = 20000
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    w = rng.normal(size=FEATURES)
    y = ((x @ w + np.sin(3 * x[:, 0]) * 2 + x[:, 1] * x[:, 2]) > 0).astype(np.float32)
    x[rng.random(size=x.shape) < 0.05] = np.nan
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "seed": 1, "tree_method": "hist"}
    bst = xgb.train(params, xgb.DMatrix(x, label=y, missing=np.nan), 100)
    bst.save_model(f"{d}/model.ubj")
    bst.save_model(f"{d}/model.xgb.json")
    rows = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    rows[rng.random(size=rows.shape) < 0.05] = np.nan
    rows.tofile(f"{d}/rows.f32")
    bst.predict(xgb.DMatrix(rows, missing=np.nan)).astype(np.float32).tofile(f"{d}/pred.f32")


def rate(call, batch, rows, seconds):
    """Rows per second of call(x) over batches cycling through rows, for about `seconds`."""
    n = rows.shape[0] // batch
    views = [rows[i * batch:(i + 1) * batch] for i in range(n)]
    for v in views[: min(n, 20)]:
        call(v)  # warm-up
    done = 0
    calls = 0
    t0 = time.perf_counter()
    while True:
        call(views[calls % n])
        calls += 1
        done += batch
        if calls % 8 == 0 and time.perf_counter() - t0 >= seconds:
            break
    return done / (time.perf_counter() - t0)


def timing(d, seconds, batches):
    rows = np.fromfile(f"{d}/rows.f32", dtype=np.float32).reshape(-1, FEATURES)
    out = {}
    for threads, label in ((1, "1"), (0, "default")):
        bst = xgb.Booster(model_file=f"{d}/model.ubj")
        bst.set_param({"nthread": threads} if threads else {})
        for b in batches:
            out[f"inplace/{label}/{b}"] = rate(lambda v: bst.inplace_predict(v, missing=np.nan), b, rows, seconds)
            out[f"dmatrix/{label}/{b}"] = rate(lambda v: bst.predict(xgb.DMatrix(v, missing=np.nan, nthread=threads or -1)), b, rows, seconds)
    print(json.dumps({"xgboost": xgb.__version__, "rowsPerSecond": out}))


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2])
    else:
        timing(sys.argv[2], float(sys.argv[3]), [int(b) for b in sys.argv[4].split(",")])
