"""Fits a LightGBM booster on a feature matrix and exports it as an ONNX ai.onnx.ml tree ensemble.

Called by runtimes/trainer/fit.ts as `python fit.py job.json` (through scripts/python-trainer): the
TypeScript side builds every feature row with the inference runtime's own code and hands them over
as raw little-endian files; this side only fits, converts and predicts. It prints one JSON object.

job.json: {task: "regression"|"classification", columns: [names], params: {...}, rounds: int,
  train: {x, y, rows}, predict: [{x, rows, out}], out: "model.onnx", split: int}
x files are float32 row-major [rows, columns], y and out files float64.
"""

import json
import sys
import time

import lightgbm as lgb
import numpy as np
import onnx
import onnxmltools
from onnxmltools.convert.common.data_types import FloatTensorType

# The runtime feeds one float input named `features` (contracts/onnx/buildModel.ts INPUT_NAME).
INPUT_NAME = "features"
# ONNX opset 15, the newest onnxmltools 1.16 converts to (ai.onnx.ml 2 with it); onnxruntime-node
# 1.30 runs it.
TARGET_OPSET = 15


def read_matrix(path, rows, columns):
    return np.fromfile(path, dtype="<f4").reshape(rows, columns)


def floor_to_float32(value):
    """The largest float32 <= value: for any float32 x, x <= value iff x <= floor_to_float32(value)."""
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(-np.inf), dtype=np.float32)
    return float(f)


def float32_thresholds(booster):
    """The same booster with every split threshold moved down to a float32 without changing a decision.

    ONNX tree ensembles hold float32 thresholds and the runtime's inputs are float32. LightGBM's
    double thresholds, rounded to the nearest float32 by the converter, would flip the decision for
    an input between the two; the largest float32 below each threshold decides every float32 input
    exactly as LightGBM does, so the exported trees and the booster agree split for split.
    """
    # tree_sizes gives each tree's byte length for parallel parsing; the new thresholds change it,
    # and without the line LightGBM parses the trees one after the other.
    lines = [l for l in booster.model_to_string().split("\n") if not l.startswith("tree_sizes=")]
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            values = line[len("threshold=") :].split(" ")
            lines[i] = "threshold=" + " ".join(repr(floor_to_float32(float(v))) for v in values)
    return lgb.Booster(model_str="\n".join(lines))


def only_probabilities(model):
    """Keeps the classifier's [N, 2] probability output as the graph's only output.

    The runtime reads the first output unless told otherwise, and the int64 label output that
    onnxmltools puts first is not a score.
    """
    graph = model.graph
    keep = [o for o in graph.output if o.name == "probabilities"]
    if len(keep) != 1:
        raise SystemExit(f"classifier outputs {[o.name for o in graph.output]}: no probabilities")
    del graph.output[:]
    graph.output.extend(keep)
    return model


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    task = job["task"]
    columns = job["columns"]
    width = len(columns)
    train = job["train"]
    x = read_matrix(train["x"], train["rows"], width)
    y = np.fromfile(train["y"], dtype="<f8")
    params = {
        "objective": "regression" if task == "regression" else "binary",
        "verbosity": -1,
        "deterministic": True,
        "force_row_wise": True,
        **job["params"],
    }
    started = time.perf_counter()
    dataset = lgb.Dataset(x, label=y, feature_name=[f"f{j}" for j in range(width)], free_raw_data=True)
    booster = lgb.train(params, dataset, num_boost_round=job["rounds"])
    booster = float32_thresholds(booster)
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    model = onnxmltools.convert_lightgbm(
        booster,
        initial_types=[(INPUT_NAME, FloatTensorType([None, width]))],
        target_opset=TARGET_OPSET,
        zipmap=False,
        # Regression: sums trees in chunks cast to double, so a large ensemble's float32
        # accumulation error stays far below the skew bound (see docs/adr/0011). onnxmltools 1.16
        # cannot split an ensemble of at most `split` trees (it fails on the one chunk), and one
        # chunk needs no split.
        split=job["split"] if task == "regression" and booster.num_trees() > job["split"] else None,
    )
    if task == "classification":
        model = only_probabilities(model)
    onnx.checker.check_model(model)
    with open(job["out"], "wb") as f:
        f.write(model.SerializeToString())
    convert_seconds = time.perf_counter() - started

    for p in job["predict"]:
        rows = read_matrix(p["x"], p["rows"], width)
        # Booster.predict on the float32 rows as doubles: what LightGBM itself answers for them.
        booster.predict(rows.astype(np.float64)).astype("<f8").tofile(p["out"])

    print(
        json.dumps(
            {
                "lightgbm": lgb.__version__,
                "onnxmltools": onnxmltools.__version__,
                "onnx": onnx.__version__,
                "trees": booster.num_trees(),
                "fitSeconds": round(fit_seconds, 3),
                "convertSeconds": round(convert_seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
