# Which anomaly method the trainer should fit, measured on SKAB valve1 by the benchmark's protocol
# (../shared/datasets/README.md): per experiment file, fit on its first 400 rows (normal operation),
# score the rest, F1 of the `anomaly` label over all scored rows, with false- and missed-alarm rates.
# Candidates are the field-standard ones scikit-learn fits and skl2onnx exports: PCA with Hotelling's
# T² and the Q statistic (squared prediction error), alone and combined, and an isolation forest.
# Every threshold is the 99th percentile of the method's score on the file's own training rows.
#   scripts/python-trainer bench/anomalyMethods.py [skab dir]   → JSON on stdout
import glob
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

TRAIN_ROWS = 400
QUANTILE = 0.99
TARGET_F1 = 0.80
SENSORS = 8


def read(path):
    with open(path) as f:
        header = f.readline().strip().split(";")
        rows = [line.strip().split(";") for line in f if line.strip()]
    x = np.array([[float(v) for v in r[1 : 1 + SENSORS]] for r in rows])
    y = np.array([float(r[header.index("anomaly")]) for r in rows]) > 0.5
    return x, y


def pca_scores(train, test, variance):
    pca = PCA(n_components=variance, svd_solver="full").fit(train)

    def t2_q(x):
        z = pca.transform(x)
        t2 = np.sum(z**2 / pca.explained_variance_, axis=1)
        q = np.sum((x - pca.inverse_transform(z)) ** 2, axis=1)
        return t2, q

    return t2_q(train), t2_q(test)


def methods(train, test, seed):
    (t2_train, q_train), (t2_test, q_test) = pca_scores(train, test, 0.95)
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(train)
    iso_train, iso_test = -forest.score_samples(train), -forest.score_samples(test)
    limit = lambda s: np.quantile(s, QUANTILE)
    t2 = t2_test > limit(t2_train)
    q = q_test > limit(q_train)
    return {
        "pca_t2": t2,
        "pca_q": q,
        "pca_t2_or_q": t2 | q,
        "isolation_forest": iso_test > limit(iso_train),
    }


def rates(pred, truth):
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    tn = int(np.sum(~pred & ~truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "falseAlarmRate": round(fp / (fp + tn) if fp + tn else 0.0, 4),
        "missedAlarmRate": round(fn / (fn + tp) if fn + tp else 0.0, 4),
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared", "datasets", "skab")
    files = sorted(glob.glob(os.path.join(root, "valve1", "*.csv")), key=lambda p: int(os.path.basename(p)[:-4]))
    if not files:
        print(json.dumps({"skipped": f"no SKAB valve1 files under {root}"}))
        return
    started = time.perf_counter()
    predictions, truths = {}, []
    for path in files:
        x, y = read(path)
        scaler = StandardScaler().fit(x[:TRAIN_ROWS])
        train, test = scaler.transform(x[:TRAIN_ROWS]), scaler.transform(x[TRAIN_ROWS:])
        for name, pred in methods(train, test, seed=1).items():
            predictions.setdefault(name, []).append(pred)
        truths.append(y[TRAIN_ROWS:])
    truth = np.concatenate(truths)
    results = {name: rates(np.concatenate(p), truth) for name, p in predictions.items()}
    for r in results.values():
        r["f1VsTarget"] = round(r["f1"] / TARGET_F1, 4)
    print(
        json.dumps(
            {
                "benchmark": "anomaly-methods",
                "dataset": "SKAB valve1",
                "files": len(files),
                "scoredRows": int(truth.size),
                "anomalousRows": int(truth.sum()),
                "protocol": f"per file: fit on the first {TRAIN_ROWS} rows, score the rest; threshold = "
                f"{QUANTILE} quantile of the training scores; F1 over all scored rows",
                "targetF1": TARGET_F1,
                "sklearn": sklearn.__version__,
                "methods": results,
                "seconds": round(time.perf_counter() - started, 2),
            },
            indent=2,
        )
    )


main()
