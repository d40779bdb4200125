"""Real and semi-synthetic causal datasets shipped by installed packages (no downloads)."""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd

from causalsynth.core.roles import Roles, coerce_types
from causalsynth.core.seeds import derive_seed
from causalsynth.data.base import DatasetLoader, PreparedDataset, Truth, split_train_holdout, subsample
from causalsynth.data.validate import validate_table

_SPLIT = {"holdout_fraction": 0.3, "max_rows": None}

LALONDE_COVARIATES = {
    "age": "continuous",
    "educ": "continuous",
    "black": "binary",
    "hisp": "binary",
    "marr": "binary",
    "nodegree": "binary",
    "re74": "continuous",
    "re75": "continuous",
}
NSW_EXPERIMENTAL_ESTIMATE = 1794.34  # re78 difference in means, Dehejia-Wahba NSW sample


class RealDataset(DatasetLoader):
    """Loads a full table, validates it, subsamples if asked and splits train / holdout.

    ``max_rows`` caps the table before the split (:func:`causalsynth.data.base.subsample`):
    stratified by arm for an ATE dataset; an ATT dataset keeps every treated unit and the
    controls fill the rest. On lalonde_cps (185 NSW treated, 15,992 CPS controls)
    ``max_rows: 6000`` keeps all 185 treated, the population the ATT reference is computed on,
    and 5,815 controls.
    """

    options = dict(_SPLIT)
    roles: Roles

    def load(self) -> pd.DataFrame:
        raise NotImplementedError

    def truth(self, full: pd.DataFrame, train: pd.DataFrame) -> Truth:
        raise NotImplementedError

    carried_columns: tuple[str, ...] = ()  # kept through the split for truth(), never written

    def prepare(self, seed: int) -> PreparedDataset:
        full, n_dropped = self.load_checked()
        roles = self.roles
        carried = full[list(self.carried_columns)].reset_index(drop=True)
        full = pd.concat([coerce_types(full, roles).reset_index(drop=True), carried], axis=1)
        n_source = len(full)
        full = subsample(
            full,
            roles.treatment,
            self.params["max_rows"],
            derive_seed(seed, "subsample"),
            keep_treated=roles.estimand == "ATT",
        )
        train, holdout = split_train_holdout(
            full,
            roles.treatment,
            self.params["holdout_fraction"],
            derive_seed(seed, "split"),
        )
        truth = self.truth(full, train)
        keep = roles.columns
        return PreparedDataset(
            roles=roles,
            kind=self.kind,
            train=train[keep],
            holdout=holdout[keep],
            truth=truth,
            n_dropped=n_dropped,
            positivity=self.positivity_sets(full[keep]),
            positivity_truth=truth if self.has_positivity_study else None,
            notes={"n_source_rows": n_source, "n_after_subsample": len(full)},
        )

    def load_checked(self) -> tuple[pd.DataFrame, int]:
        """The loaded table after validation, and the number of rows dropped by policy."""
        full = self.load()
        validate_table(full, self.roles, self.source())
        return full, 0

    def positivity_sets(self, full: pd.DataFrame) -> pd.DataFrame | None:
        return full.assign(set=1) if self.has_positivity_study else None


def _causaldata(name: str) -> pd.DataFrame:
    module = __import__(f"causaldata.{name}", fromlist=["load_pandas"])
    return module.load_pandas().data


class LalondeNSW(RealDataset):
    """The NSW randomized experiment (Dehejia-Wahba sample, causaldata ``nsw_mixtape``)."""

    kind = "real-rct"
    roles = Roles(treatment="treat", outcome="re78", outcome_type="continuous", covariates=LALONDE_COVARIATES)

    def load(self) -> pd.DataFrame:
        return _causaldata("nsw_mixtape")

    def truth(self, full, train) -> Truth:
        raw = _causaldata("nsw_mixtape")
        diff = raw.loc[raw.treat == 1, "re78"].mean() - raw.loc[raw.treat == 0, "re78"].mean()
        return Truth(
            ate=round(float(diff), 2),
            kind="reference",
            source="difference in mean 1978 earnings between arms of the randomized NSW sample "
            "(Dehejia and Wahba 1999; LaLonde 1986), all 445 units",
        )


class LalondeCPS(RealDataset):
    """NSW treated units against CPS-1 controls: the classic observational benchmark.

    The benchmark value is the NSW experimental estimate, an effect on the treated, so the
    declared estimand is the ATT. The CPS controls barely overlap the treated: this is the
    dataset of the positivity study.
    """

    kind = "real-observational"
    has_positivity_study = True
    roles = Roles(
        treatment="treat",
        outcome="re78",
        outcome_type="continuous",
        covariates=LALONDE_COVARIATES,
        estimand="ATT",
    )

    def load(self) -> pd.DataFrame:
        nsw = _causaldata("nsw_mixtape")
        cps = _causaldata("cps_mixtape")
        return pd.concat([nsw[nsw.treat == 1], cps], ignore_index=True)

    def truth(self, full, train) -> Truth:
        return Truth(
            ate=NSW_EXPERIMENTAL_ESTIMATE,
            kind="reference",
            source="NSW experimental estimate (difference in means of the randomized sample; "
            "Dehejia and Wahba 1999), the ATT benchmark for observational estimates with CPS controls",
        )


class NHEFS(RealDataset):
    """NHEFS smoking cessation (causaldata ``nhefs_complete``), Hernan and Robins' analysis set."""

    kind = "real-observational"
    roles = Roles(
        treatment="qsmk",
        outcome="wt82_71",
        outcome_type="continuous",
        covariates={
            "sex": "binary",
            "race": "binary",
            "age": "continuous",
            "education": "categorical",
            "smokeintensity": "continuous",
            "smokeyrs": "continuous",
            "exercise": "categorical",
            "active": "categorical",
            "wt71": "continuous",
        },
    )

    def load(self) -> pd.DataFrame:
        df = _causaldata("nhefs_complete")
        df = df.copy()
        for c in ("sex", "race"):
            df[c] = df[c].astype(int)
        for c in ("education", "exercise", "active"):
            df[c] = df[c].astype(str)
        df["qsmk"] = df["qsmk"].astype(int)
        return df

    def truth(self, full, train) -> Truth:
        return Truth(
            ate=3.4,
            kind="reference",
            source="IP-weighted estimate 3.4 kg (95% CI 2.4 to 4.5), Hernan and Robins, "
            "Causal Inference: What If (2020), section 12.2",
        )


class KnownEffectsDataset(RealDataset):
    """Real covariates with potential-outcome means known for every unit."""

    kind = "semi-synthetic"
    carried_columns = ("__mu0", "__mu1")
    truth_source: str

    def truth(self, full, train) -> Truth:
        # the sample ATE over the training rows: the population the generators imitate
        return Truth(
            ate=float(np.mean(train["__mu1"] - train["__mu0"])), kind="exact", source=self.truth_source
        )


class IHDP(KnownEffectsDataset):
    """IHDP covariates (EconML's copy) with Hill's (2011) response surface B.

    As in Hill (2011), treated children of non-white mothers are removed. The six continuous
    covariates are standardized for the surface; beta has entries in {0, .1, .2, .3, .4}
    with probabilities (.6, .1, .1, .1, .1); Y(0) = exp((X + 0.5) beta) + e,
    Y(1) = X beta - omega + e with omega set so the effect on the treated is 4; e ~ N(0, 1).
    Individual effects mu1 - mu0 are known; the truth is their mean over the training rows.
    """

    options = {**_SPLIT, "surface_seed": 0}
    truth_source = (
        "mean of the known individual effects mu1(x) - mu0(x) of Hill's surface B over the training rows"
    )
    CONTINUOUS = ["bw", "b_head", "preterm", "birth_o", "nnhealth", "momage"]
    BINARY = [
        "sex", "twin", "b_marr", "mom_lths", "mom_hs", "mom_scoll", "cig", "first", "booze", "drugs",
        "work_dur", "prenatal", "site1", "site2", "site3", "site4", "site5", "site6", "site7",
    ]  # fmt: skip
    roles = Roles(
        treatment="treat",
        outcome="y",
        outcome_type="continuous",
        covariates={**dict.fromkeys(CONTINUOUS, "continuous"), **dict.fromkeys(BINARY, "binary")},
    )

    def load(self) -> pd.DataFrame:
        path = importlib.resources.files("econml") / "data" / "ihdp" / "sim.csv"
        raw = pd.read_csv(str(path))
        raw.columns = [c.replace(".", "_") for c in raw.columns]
        raw = raw[~((raw["treat"] == 1) & (raw["momwhite"] == 0))].reset_index(drop=True)
        x = raw[self.CONTINUOUS + self.BINARY].to_numpy(dtype=float)
        x[:, :6] = (x[:, :6] - x[:, :6].mean(axis=0)) / x[:, :6].std(axis=0)
        rng = np.random.default_rng(derive_seed(self.params["surface_seed"], "ihdp_surface"))
        beta = rng.choice([0, 0.1, 0.2, 0.3, 0.4], size=x.shape[1], p=[0.6, 0.1, 0.1, 0.1, 0.1])
        t = raw["treat"].to_numpy()
        mu0 = np.exp((x + 0.5) @ beta)
        lin = x @ beta
        omega = np.mean(lin[t == 1] - mu0[t == 1]) - 4
        mu1 = lin - omega
        noise = rng.normal(size=len(raw))
        out = raw[["treat", *self.CONTINUOUS, *self.BINARY]].copy()
        out["y"] = np.where(t == 1, mu1, mu0) + noise
        out["__mu0"], out["__mu1"] = mu0, mu1
        return out


class ACIC16(KnownEffectsDataset):
    """ACIC 2016 data challenge, one simulation setting (causallib ``load_acic16``).

    causallib ships the potential outcomes; the truth is the mean of y1 - y0 over the
    training rows. The one-hot columns x_2_*, x_21_* and x_24_* are folded back into the
    categorical covariates x_2, x_21 and x_24 they encode (base level ``A``).
    """

    options = {**_SPLIT, "instance": 1}
    truth_source = "mean of causallib's known potential outcomes y1 - y0 over the training rows"
    FOLDED = ("x_2", "x_21", "x_24")

    def load(self) -> pd.DataFrame:
        from causallib.datasets import load_acic16

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = load_acic16(instance=self.params["instance"])
        x = data["X"].copy()
        for prefix in self.FOLDED:
            cols = [c for c in x.columns if c.startswith(prefix + "_")]
            levels = np.array([c[len(prefix) + 1 :] for c in cols], dtype=object)
            onehot = x[cols].to_numpy().astype(bool)
            x[prefix] = np.where(onehot.any(axis=1), levels[onehot.argmax(axis=1)], "A")
            x = x.drop(columns=cols)
        covariates = {}
        for c in x.columns:
            if c in self.FOLDED:
                covariates[c] = "categorical"
            elif set(np.unique(x[c].astype(float))) <= {0.0, 1.0}:
                covariates[c] = "binary"
                x[c] = x[c].astype(int)
            else:
                covariates[c] = "continuous"
        self.roles = Roles(treatment="a", outcome="y", outcome_type="continuous", covariates=covariates)
        out = x.assign(a=np.asarray(data["a"]).astype(int), y=np.asarray(data["y"], dtype=float))
        po = np.asarray(data["po"], dtype=float)
        out["__mu0"], out["__mu1"] = po[:, 0], po[:, 1]
        return out
