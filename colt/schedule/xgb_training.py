"""Retraining MetaSchedule's XGBoost cost model at a smaller price.

COLT retrains after every measurement round (8 programs), where stock evolutionary search with
64 samples trains once. ``XGBModel``'s training evaluates two metrics in Python after every
boosting round, one of them only for its debug log, and boosts on every core: on 2 cores a
64-sample run spent 1-5 s retraining and re-predicting against evolutionary's 0.2-0.9 s
(``time_s.cost_model``, docs/results/2026-12-07-worker-start). ``retrain`` fits the
same model: the same data, objective, parameters and stopping rule (no gain in the training
error, rounded as ``XGBModel`` reads it, for ``early_stopping_rounds`` rounds), evaluating only
that error, on one thread by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tvm.s_tir import meta_schedule as ms
from tvm.s_tir.meta_schedule.cost_model.xgb_model import PackSum

MAX_ROUNDS = 10000  # XGBModel's bound; its stopping rule ends training long before


def training_data(model: ms.cost_model.XGBModel) -> tuple[list[np.ndarray], np.ndarray]:
    """What ``XGBModel`` fits: every program's features, and its throughput relative to the
    best of its group (a workload's measurements)."""
    groups = list(model.data.values())
    features = [f for group in groups for f in group.features]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = [
            np.divide(g.min_cost, g.costs, out=np.zeros_like(g.costs), where=g.costs != 0)
            for g in groups
        ]
    return features, np.concatenate(ratios, axis=0) if ratios else np.zeros(0, "float32")


def retrain(model: ms.cost_model.XGBModel, *, nthread: int | None = 1) -> None:
    """Fits ``model.booster`` to everything ``model`` holds, as ``XGBModel`` does after an
    ``update`` (``nthread`` None: the model's own setting)."""
    import xgboost as xgb

    features, ratios = training_data(model)
    if not features:
        return
    data = PackSum(xs=features, ys=ratios)
    params = model.config.to_dict()
    if nthread is not None:
        params["nthread"] = nthread
    model.booster = xgb.train(
        params,
        data.dmatrix,
        num_boost_round=MAX_ROUNDS,
        obj=lambda predicted, _: data.obj_square_error(predicted),
        callbacks=[_stop_when_flat(data, model.early_stopping_rounds)],
    )


def _stop_when_flat(data: PackSum, rounds: int) -> Any:
    import xgboost as xgb

    class StopWhenFlat(xgb.callback.TrainingCallback):
        """Stops once the training error has not dropped for ``rounds`` rounds; the error is
        compared as ``XGBModel`` compares it, printed with six decimals and read back."""

        def __init__(self) -> None:
            super().__init__()
            self.best, self.best_round = float("inf"), 0

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            margins = model.predict(data.dmatrix, training=False, output_margin=True)
            error = float(f"{data.rmse(margins)[1]:f}")
            if error < self.best:
                self.best, self.best_round = error, epoch
                return False
            return epoch - self.best_round >= rounds

    return StopWhenFlat()
