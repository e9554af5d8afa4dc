"""Train small XGBoost models, one per objective, for meshkit's XGBoost runtime tests.

Run with Debian's interpreter: /usr/bin/python3 xgboost-train.py OUT_DIR
Writes OUT_DIR/<case>.xgb.json and OUT_DIR/<case>.ubj (the same booster saved both ways) and
OUT_DIR/manifest.json: per case the test rows (NaN as null) and Booster.predict's answers on them.
Training and test data have missing values (NaN); test rows include training rows (values equal
to split conditions) and an all-missing row. Deterministic (fixed seeds).
"""
import json
import os
import sys

import numpy as np
import xgboost as xgb

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(7)


def features(n, f, missing=0.15):
    x = rng.normal(size=(n, f)).astype(np.float32)
    x[rng.random(size=(n, f)) < missing] = np.nan
    return x


def signal(x):
    z = np.nan_to_num(x, nan=0.5)
    return z[:, 0] * 1.5 - z[:, 1] + 0.5 * z[:, 2] * z[:, 3] + np.sin(z[:, 4])


def test_rows(x_train, f):
    fresh = features(24, f)
    seen = x_train[:16]
    return np.vstack([fresh, seen, np.full((1, f), np.nan, dtype=np.float32)])


N, F = 400, 8
cases = []


def case(name, params, y, rounds=12, nf=F, group=None, x=None, **extra):
    x = features(N, nf) if x is None else x
    d = xgb.DMatrix(x, label=y if y is not None else signal(x), missing=np.nan)
    if group is not None:
        d.set_group(group)
    params = {"max_depth": 4, "eta": 0.3, "seed": 1, "nthread": 1, **params}
    bst = xgb.train(params, d, rounds)
    xt = test_rows(x, nf)
    pred = bst.predict(xgb.DMatrix(xt, missing=np.nan))
    inplace = bst.inplace_predict(xt)
    # equal up to float32 rounding (dart sums its weighted trees in another order in place)
    assert np.allclose(pred, inplace, rtol=1e-6, atol=1e-6), (name, np.max(np.abs(pred - inplace)))
    bst.save_model(os.path.join(out_dir, name + ".xgb.json"))
    bst.save_model(os.path.join(out_dir, name + ".ubj"))
    cases.append({
        "name": name,
        "objective": params["objective"],
        "booster": params.get("booster", "gbtree"),
        "numFeature": nf,
        "numTrees": len(bst.get_dump()),
        "rows": [[None if np.isnan(v) else float(v) for v in r] for r in xt],
        "shape": list(pred.shape),
        "expected": [float(v) for v in pred.reshape(-1)],
        **extra,
    })


# one case per objective; y is made per objective's domain from the same kind of signal
def y_for(x):
    return signal(x)


x = features(N, F)
case("reg_squarederror", {"objective": "reg:squarederror"}, y_for(x), x=x)
x = features(N, F)
case("reg_squarederror_base3", {"objective": "reg:squarederror", "base_score": 3.0, "tree_method": "exact"}, y_for(x) + 3, x=x)
x = features(N, F)
case("reg_logistic", {"objective": "reg:logistic", "base_score": 0.3}, 1 / (1 + np.exp(-y_for(x))), x=x)
x = features(N, F)
case("binary_logistic", {"objective": "binary:logistic"}, (y_for(x) > 0).astype(np.float32), x=x)
x = features(N, F)
case("binary_logistic_dart", {"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3, "skip_drop": 0.0, "base_score": 0.4},
     (y_for(x) > 0).astype(np.float32), x=x, rounds=15)
x = features(N, F)
case("binary_logitraw", {"objective": "binary:logitraw", "base_score": 0.3}, (y_for(x) > 0.2).astype(np.float32), x=x)
x = features(N, F)
cls = np.digitize(y_for(x), [-1.0, 0.0, 1.0])
case("multi_softprob", {"objective": "multi:softprob", "num_class": 4, "num_parallel_tree": 2, "subsample": 0.8, "colsample_bynode": 0.8}, cls, x=x, rounds=6)
x = features(N, F)
case("multi_softmax_dart", {"objective": "multi:softmax", "num_class": 3, "booster": "dart", "rate_drop": 0.2, "skip_drop": 0.0},
     np.digitize(y_for(x), [-0.5, 0.5]), x=x, rounds=8)
x = features(N, F)
case("count_poisson", {"objective": "count:poisson", "base_score": 1.5}, rng.poisson(np.exp(0.4 * y_for(x))).astype(np.float32), x=x)
x = features(N, F)
case("rank_pairwise", {"objective": "rank:pairwise"}, np.digitize(y_for(x), [-1.0, 0.0, 1.0]).astype(np.float32), x=x, group=[40] * 10)
x = features(N, F)
case("rank_ndcg", {"objective": "rank:ndcg"}, np.digitize(y_for(x), [-1.0, 0.0, 1.0]).astype(np.float32), x=x, group=[50] * 8)
x = features(N, F)
case("reg_gamma", {"objective": "reg:gamma"}, np.exp(0.3 * y_for(x)).astype(np.float32), x=x)
x = features(N, F)
case("reg_tweedie", {"objective": "reg:tweedie", "tweedie_variance_power": 1.3}, np.maximum(0, y_for(x)).astype(np.float32), x=x)
x = features(N, F)
case("binary_hinge", {"objective": "binary:hinge"}, (y_for(x) > 0).astype(np.float32), x=x)
x = features(N, F)
case("reg_absoluteerror", {"objective": "reg:absoluteerror"}, y_for(x), x=x)
x = features(N, F)
case("reg_pseudohubererror", {"objective": "reg:pseudohubererror"}, y_for(x), x=x)
x = features(N, F)
case("multi_target", {"objective": "reg:squarederror", "tree_method": "hist"}, np.stack([y_for(x), -2 * y_for(x)], axis=1), x=x)
# heavy pruning (gamma): later trees shrink to a single leaf, a root that is a leaf
x = features(N, F)
case("reg_pruned", {"objective": "reg:squarederror", "gamma": 40.0, "max_depth": 3}, y_for(x), x=x, rounds=20)
assert any(t.count("\n") == 1 for t in xgb.Booster(model_file=os.path.join(out_dir, "reg_pruned.ubj")).get_dump()), "reg_pruned has no single-leaf tree"
# a deeper, wider one: many features, num_parallel_tree (a random forest inside boosting)
x = features(N, 20)
case("reg_forest_deep", {"objective": "reg:squarederror", "max_depth": 8, "num_parallel_tree": 3, "subsample": 0.7, "colsample_bytree": 0.7},
     y_for(x), x=x, nf=20, rounds=5)

with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
    json.dump({"xgboost": xgb.__version__, "cases": cases}, fh)
