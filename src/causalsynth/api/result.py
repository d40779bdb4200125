"""What :func:`~causalsynth.api.judge` returns: the tables, a paragraph and a figure."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causalsynth.core.roles import Roles
from causalsynth.core.uncertainty import FAILS, HOLDS, LEVEL, UNDECIDED, Interval, decide
from causalsynth.core.vocabulary import REAL
from causalsynth.data import PreparedDataset

ATE_COLUMNS = ["set", "estimator", "learner", "ate", "se", "ci_low", "ci_high", "status", "warning"]
DIFFERS = "differs"
# a privacy metric's interval wholly on the risky side of its baseline, wholly on the other, or neither
RISK_VERDICTS = {HOLDS: "riskier", FAILS: "not riskier", UNDECIDED: UNDECIDED}
ATTACK_NAMES = {
    "singling_out_risk": "singling out",
    "linkability_risk": "linkability",
    "inference_risk": "inference",
}


def preservation_table(ate: pd.DataFrame) -> pd.DataFrame:
    """Each synthetic estimate beside the real one of the same estimator and learner: the error
    ``ate - real_ate``, its 95% interval and whether the noise decides it.

    The interval takes the two estimates as independent (standard error ``sqrt(se^2 +
    se_real^2)``). A set drawn from the real rows moves with them, which narrows the true
    interval, so this one errs wide: ``differs`` (the interval excludes 0) is a safe call,
    ``undecided`` may hide a difference that more rows would show.
    """
    real = ate[ate["set"] == REAL].set_index(["estimator", "learner"])[["ate", "se"]]
    syn = ate[ate["set"] != REAL].join(real, on=["estimator", "learner"], rsuffix="_real")
    z = float(stats.norm.ppf(0.5 + LEVEL / 2))
    error = syn["ate"] - syn["ate_real"]
    se = np.sqrt(syn["se"] ** 2 + syn["se_real"] ** 2)
    out = pd.DataFrame(
        {
            "set": syn["set"],
            "estimator": syn["estimator"],
            "learner": syn["learner"],
            "ate": syn["ate"],
            "real_ate": syn["ate_real"],
            "error": error,
            "abs_error": error.abs(),
            "error_low": error - z * se,
            "error_high": error + z * se,
        }
    ).reset_index(drop=True)
    out["verdict"] = [
        DIFFERS if decide(Interval(e, lo, hi), 0.0) in (HOLDS, FAILS) else UNDECIDED
        for e, lo, hi in zip(out["error"], out["error_low"], out["error_high"], strict=True)
    ]
    return out


def preservation_summary(preservation: pd.DataFrame) -> pd.DataFrame:
    """Per set: the mean and the largest absolute error over its estimates, where the largest
    is, and how many estimates differ from the real ones (the rest are undecided)."""
    rows = []
    for name, sub in preservation.groupby("set", sort=False):
        ok = sub[np.isfinite(sub["abs_error"])]
        worst = ok.loc[ok["abs_error"].idxmax()] if len(ok) else None
        rows.append(
            {
                "set": name,
                "n_estimates": len(ok),
                "mean_abs_error": float(ok["abs_error"].mean()) if len(ok) else math.nan,
                "max_abs_error": math.nan if worst is None else float(worst["abs_error"]),
                "worst": "" if worst is None else f"{worst['estimator']} ({worst['learner']})",
                "n_differs": int((ok["verdict"] == DIFFERS).sum()),
                "n_undecided": int((ok["verdict"] == UNDECIDED).sum()),
            }
        )
    return pd.DataFrame(rows)


def risk_verdict(row: pd.Series) -> str:
    """Where a privacy metric's interval lies against its baseline (``RISK_VERDICTS``)."""
    if row.get("status") != "ok":
        return UNDECIDED
    interval = Interval(float(row["value"]), float(row["ci_low"]), float(row["ci_high"]))
    return RISK_VERDICTS[decide(interval, float(row["baseline"]), holds_above=bool(row["higher_is_riskier"]))]


def _num(x: Any, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 10**digits else f"{x:.{digits}g}"


def _pct(x: Any) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


@dataclass(eq=False)
class Judgement:
    """The judgement of synthetic sets against one real table (see :func:`~causalsynth.api.judge`).

    Tables (pandas DataFrames), each set measured as evaluated (as given, or after the DCR
    filter with ``dcr_filter=True``):

    - ``ate``: per set, estimator and learner (the real training rows as set ``real``): ``ate``, ``se``,
      the 95% interval ``ci_low``/``ci_high``, ``status`` and the overlap ``warning``;
    - ``preservation``: each synthetic estimate's ``error`` against the real one with its
      interval and ``verdict`` (:func:`preservation_table`); ``preservation_summary`` per set;
    - ``fidelity``: each fidelity metric's ``value`` beside ``real_value``, a real sample in the
      set's place (``higher_is_better`` gives the direction); ``tstr``: train on the set, score
      on the real holdout (``value``) against training on the real rows (``train_on_real``);
    - ``privacy``: DCR share, nearest-neighbour distance ratio and anonymeter's three attack
      risks with intervals, each against its ``baseline`` (``verdict``: riskier, not riskier,
      undecided); empty with ``attacks=False``;
    - ``dcr``: the DCR screen (near-copies and exact copies of training rows) of each set;
    - ``sets``: the rows of each set, those the input checks dropped, those evaluated.

    ``data`` holds the real table's split and roles, ``checks`` the report of its checks,
    ``settings`` every block and seed the call used.
    """

    name: str
    roles: Roles
    data: PreparedDataset
    ate: pd.DataFrame
    fidelity: pd.DataFrame
    tstr: pd.DataFrame
    privacy: pd.DataFrame
    dcr: pd.DataFrame
    sets: pd.DataFrame
    checks: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    preservation: pd.DataFrame = field(init=False)
    preservation_summary: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.preservation = preservation_table(self.ate)
        self.preservation_summary = preservation_summary(self.preservation)

    @property
    def set_names(self) -> list[str]:
        return list(self.sets["set"])

    # ------------------------------------------------------------------ the paragraph
    def summary(self) -> str:
        """One paragraph of plain text: the real effect, then per set its error, fidelity and risk."""
        parts = [self._real_sentence()]
        for name in self.set_names:
            parts += [self._error_sentence(name), self._fidelity_sentence(name), self._privacy_sentence(name)]
        return " ".join(p for p in parts if p)

    def _real_sentence(self) -> str:
        real = self.ate[(self.ate["set"] == REAL) & np.isfinite(self.ate["ate"])]
        head = (
            f"Real table '{self.name}': {len(self.data.train)} training rows, {len(self.data.holdout)} "
            f"kept back as the holdout"
        )
        if real.empty:
            return f"{head}; no estimator gave an estimate on it."
        r = real.iloc[0]
        return (
            f"{head}; {r['estimator']} ({r['learner']}) estimates the {self.roles.estimand} at "
            f"{_num(r['ate'], 4)} (95% CI {_num(r['ci_low'], 4)} to {_num(r['ci_high'], 4)})."
        )

    def _error_sentence(self, name: str) -> str:
        info = self.sets.set_index("set").loc[name]
        rows = f"{info['n_evaluated']} rows" + (", DCR-filtered" if info["evaluated"] != "as given" else "")
        if info["n_dropped"]:
            reasons = ", ".join(f"{k} {v}" for k, v in info["dropped"].items())
            rows += f"; the input checks dropped {info['n_dropped']} of {info['n_rows']} ({reasons})"
        s = self.preservation_summary.set_index("set").loc[name]
        if s["n_estimates"] == 0:
            return f"Set '{name}' ({rows}): no estimator gave an estimate on it."
        decided = (
            f"the noise decides a difference for {s['n_differs']} of {s['n_estimates']} estimates and "
            "leaves the rest undecided"
            if s["n_differs"]
            else f"the noise decides no difference (all {s['n_estimates']} undecided)"
        )
        return (
            f"Set '{name}' ({rows}): its estimates differ from the real ones by {_num(s['mean_abs_error'])} "
            f"on average, at most {_num(s['max_abs_error'])} ({s['worst']}); {decided}."
        )

    def _fidelity_sentence(self, name: str) -> str:
        fid = self.fidelity[self.fidelity["set"] == name].set_index("metric")
        bits = []
        for metric, label in (("shape", "column shapes"), ("c2st_auc", "two-sample classifier AUC")):
            if metric in fid.index:
                bits.append(
                    f"{label} {_num(fid.loc[metric, 'value'], 2)} (a real sample: "
                    f"{_num(fid.loc[metric, 'real_value'], 2)})"
                )
        t = self.tstr[self.tstr["set"] == name]
        if len(t):
            t = t.iloc[0]
            bits.append(
                f"train-on-synthetic {t['metric']} on the real holdout {_num(t['value'], 2)} against "
                f"{_num(t['train_on_real'], 2)} trained on the real rows"
            )
        return f"Fidelity: {'; '.join(bits)}." if bits else ""

    def _privacy_sentence(self, name: str) -> str:
        d = self.dcr.set_index("set").loc[name]
        screen = (
            f"the DCR screen flags {_pct(d['share_near_copies'])} of its rows as near-copies of training "
            f"rows ({_pct(d['share_exact_copies'])} copy a training row's covariates exactly, against "
            f"{_pct(d['holdout_share_exact_copies'])} of the unseen holdout rows)"
        )
        priv = self.privacy[self.privacy["set"] == name] if len(self.privacy) else self.privacy
        if priv.empty:
            return f"Privacy: {screen}; no attacks were run."
        priv = priv.set_index("metric")
        bits = []
        if "dcr_share" in priv.index:
            r = priv.loc["dcr_share"]
            bits.append(
                f"DCR share {_num(r['value'], 2)} ({_num(r['ci_low'], 2)} to {_num(r['ci_high'], 2)}) "
                f"against {_num(r['baseline'], 2)} for unseen rows, {r['verdict']}"
            )
        attacks = [m for m in ATTACK_NAMES if m in priv.index]
        shown = [
            f"{ATTACK_NAMES[m]} {_num(priv.loc[m, 'value'], 2)} ({_num(priv.loc[m, 'ci_low'], 2)} to "
            f"{_num(priv.loc[m, 'ci_high'], 2)})"
            if priv.loc[m, "status"] == "ok"
            else f"{ATTACK_NAMES[m]} not run ({priv.loc[m, 'status']})"
            for m in attacks
        ]
        riskier = [ATTACK_NAMES[m] for m in attacks if priv.loc[m, "verdict"] == "riskier"]
        verdict = (
            f"riskier than the holdout control: {', '.join(riskier)}"
            if riskier
            else "none shows more risk than the holdout control"
        )
        bits.append(f"attack risks {', '.join(shown)}; {verdict}")
        return f"Privacy: {screen}; {'; '.join(bits)}."

    # ------------------------------------------------------------------ the figure
    def plot(self):
        """A matplotlib Figure: each set's estimate with its 95% interval per estimator (one
        panel per learner), the real estimate as a black line with its interval shaded."""
        from matplotlib.figure import Figure  # not pyplot: the caller's backend stays as it is

        syn = self.ate[self.ate["set"] != REAL]
        learners = list(dict.fromkeys(syn["learner"])) or [None]
        estimators = list(dict.fromkeys(syn["estimator"]))
        names = self.set_names
        fig = Figure(
            figsize=(max(5.5, 1.2 * len(estimators) + 2.5), 0.8 + 2.6 * len(learners)), layout="constrained"
        )
        axes = fig.subplots(len(learners), 1, squeeze=False)[:, 0]
        for ax, learner in zip(axes, learners, strict=True):
            for i, est in enumerate(estimators):
                cell = self.ate[(self.ate["estimator"] == est) & (self.ate["learner"] == learner)]
                real = cell[(cell["set"] == REAL) & np.isfinite(cell["ate"])]
                if len(real):
                    r = real.iloc[0]
                    ax.fill_between([i - 0.45, i + 0.45], r["ci_low"], r["ci_high"], color="0.88", lw=0)
                    ax.hlines(
                        r["ate"], i - 0.45, i + 0.45, color="black", lw=1.5, label="real (95% CI shaded)"
                    )
                for j, name in enumerate(names):
                    row = cell[(cell["set"] == name) & np.isfinite(cell["ate"])]
                    if row.empty:
                        continue
                    r = row.iloc[0]
                    err = [[max(r["ate"] - r["ci_low"], 0.0)], [max(r["ci_high"] - r["ate"], 0.0)]]
                    x = i - 0.3 + 0.6 * (j + 0.5) / len(names)
                    ax.errorbar(x, r["ate"], yerr=err, fmt="o", color=f"C{j}", ms=4, capsize=2, label=name)
            ax.set_xticks(range(len(estimators)), estimators)
            ax.set_xlim(-0.6, len(estimators) - 0.4)
            ax.set_ylabel(f"{self.roles.estimand} ({learner})")
        handles, labels = axes[0].get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        fig.legend(
            unique.values(),
            unique.keys(),
            loc="outside lower center",
            ncol=min(len(unique), 4),
            frameon=False,
        )
        fig.suptitle(
            f"{self.roles.estimand} of {self.roles.outcome} by estimator, 95% intervals", fontsize=10
        )
        return fig

    # ------------------------------------------------------------------ notebook display
    def __repr__(self) -> str:
        return (
            f"<Judgement of {len(self.set_names)} synthetic set(s) {self.set_names} against '{self.name}'>\n"
            f"{self.summary()}"
        )

    def _repr_html_(self) -> str:
        privacy = self.privacy
        if not privacy.empty:
            privacy = privacy[
                ["set", "metric", "value", "ci_low", "ci_high", "baseline", "verdict", "status"]
            ]
        return "".join(
            [
                f"<p>{html.escape(self.summary())}</p>",
                "<h4>ATE error against the real rows</h4>",
                self.preservation_summary.to_html(index=False, float_format=lambda x: f"{x:.4g}"),
                "<h4>Privacy</h4>",
                privacy.to_html(index=False, float_format=lambda x: f"{x:.3g}")
                if len(privacy)
                else "<p>no attacks run</p>",
                "<p>Tables: <code>.ate</code>, <code>.preservation</code>, <code>.fidelity</code>, "
                "<code>.tstr</code>, <code>.privacy</code>, <code>.dcr</code>, <code>.sets</code>; "
                "<code>.plot()</code> draws the estimates.</p>",
            ]
        )
