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


ACTG175_FILE = "actg175.csv"  # in causalsynth/data/files/, with its attribution ACTG175.md
ACTG175_TRIAL = "ACTG 175 (Hammer et al. 1996, NEJM 335:1081; UCI record 890, CC BY 4.0)"
# Xu (2026)'s 17 covariates; zprior is 1 for all 2,139 patients, so the roles leave it out
ACTG175_PAPER_COVARIATES = (
    "age", "wtkg", "hemo", "homo", "drugs", "karnof", "oprior", "z30", "zprior", "preanti",
    "race", "gender", "str2", "strat", "symptom", "cd40", "cd80",
)  # fmt: skip
ACTG175_CONSTANT = ("zprior",)
ACTG175_POST_TREATMENT = ("treat", "offtrt", "r", "cens", "days", "cd496", "cd820")
_ACTG175_TYPES = {
    **dict.fromkeys(["age", "wtkg", "karnof", "preanti", "cd40", "cd80"], "continuous"),
    **dict.fromkeys(
        ["hemo", "homo", "drugs", "oprior", "z30", "zprior", "race", "gender", "str2", "symptom"], "binary"
    ),
    "strat": "categorical",
}


def read_actg175() -> pd.DataFrame:
    """The shipped ACTG 175 table (2,139 patients x 27 variables; speff2trial's export)."""
    path = importlib.resources.files("causalsynth.data") / "files" / ACTG175_FILE
    with path.open("rb") as f:
        return pd.read_csv(f, index_col=0)


def difference_in_means(y: np.ndarray, a: np.ndarray) -> tuple[float, float]:
    """Difference in means between arms and its standard error sqrt(var1/n1 + var0/n0)."""
    y1, y0 = y[a == 1], y[a == 0]
    se = np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size)
    return float(y1.mean() - y0.mean()), float(se)


class ACTG175Design(RealDataset):
    """Two randomized arms of ACTG 175 from the shipped file (no download).

    A subclass names the arms (``control_arm`` -> A = 0, ``treated_arm`` -> A = 1; the
    other arms' rows are dropped), builds the outcome and declares the covariates. Rows with
    a missing role value are dropped and counted (``n_dropped``; none are missing in either
    design: only ``cd496`` has missing values). The truth is the randomized difference in
    means over every row of the design, whatever ``max_rows`` keeps. The follow-up columns
    ``treat``, ``offtrt``, ``r``, ``cens``, ``days``, ``cd496`` and ``cd820`` are
    post-treatment and never covariates.
    """

    kind = "real-rct"
    control_arm: int
    treated_arm: int
    design: str  # who published the design, for the truth's source

    def outcome(self, raw: pd.DataFrame) -> pd.Series:
        raise NotImplementedError

    def design_table(self) -> pd.DataFrame:
        """The two arms' rows with A and the outcome, before rows with missing values are dropped."""
        raw = read_actg175()
        raw = raw[raw["arms"].isin([self.control_arm, self.treated_arm])]
        out = raw[self.roles.covariate_names].copy()
        out[self.roles.treatment] = (raw["arms"] == self.treated_arm).astype(np.int64)
        out[self.roles.outcome] = self.outcome(raw).astype(np.float64)
        return out.reset_index(drop=True)

    def load_checked(self) -> tuple[pd.DataFrame, int]:
        table = self.design_table()
        complete = table[self.roles.columns].notna().all(axis=1)
        full = table[complete].reset_index(drop=True)
        validate_table(full, self.roles, self.source())
        return full, int((~complete).sum())

    def load(self) -> pd.DataFrame:
        return self.load_checked()[0]

    def reference(self) -> tuple[float, float, int]:
        """Difference in means, its SE and n over every complete row of the design."""
        full = self.load()
        r = self.roles
        ate, se = difference_in_means(full[r.outcome].to_numpy(float), full[r.treatment].to_numpy())
        return ate, se, len(full)

    def truth(self, full, train) -> Truth:
        ate, se, n = self.reference()
        r = self.roles
        return Truth(
            ate=round(ate, 2),
            kind="reference",
            source=f"difference in mean {r.outcome} between the randomized arms {self.treated_arm} "
            f"(A = 1) and {self.control_arm} (A = 0) of {ACTG175_TRIAL}, all {n} units "
            f"(SE {se:.2f}); design of {self.design}",
        )


class ACTG175(ACTG175Design):
    """ACTG 175 in the design of Xu (2026), arXiv 2604.23904.

    A = 1 for arm 2 (zidovudine + zalcitabine), A = 0 for arm 1 (zidovudine + didanosine);
    Y = ``cd420``, the CD4 count at 20 +- 5 weeks, continuous and unscaled; n = 1,046 (524
    treated, 522 control). Reference: difference in means -31.13 cells/mm3 (SE 9.03).

    The paper's 17 covariates (``ACTG175_PAPER_COVARIATES``) include ``zprior``, which is 1 for every
    one of the 2,139 patients (all had taken zidovudine before the trial): a constant column
    carries no information, adjusting for it changes no estimate, and the table check refuses
    it (:func:`causalsynth.data.validate.check_covariates`), so it is left out of the
    roles and the dataset has the other 16. ``strat`` (antiretroviral history, three levels)
    is categorical; ``karnof`` (Karnofsky score 70-100) and ``preanti`` (days of prior
    antiretroviral therapy) are continuous.
    """

    control_arm, treated_arm = 1, 2
    design = "Xu (2026), arXiv 2604.23904: arm 2 vs arm 1, outcome cd420"
    roles = Roles(
        treatment="A",
        outcome="cd420",
        outcome_type="continuous",
        covariates={c: _ACTG175_TYPES[c] for c in ACTG175_PAPER_COVARIATES if c not in ACTG175_CONSTANT},
    )

    def outcome(self, raw: pd.DataFrame) -> pd.Series:
        return raw["cd420"]


class ACTG175Steam(ACTG175Design):
    """ACTG 175 in the design of STEAM (NeurIPS 2025, github.com/harrya32/STEAM).

    A = 1 for arm 2 (zidovudine + zalcitabine), A = 0 for arm 0 (zidovudine alone); the outcome
    ``cd4_change`` = ``cd420`` - ``cd40``, the change in CD4 count from baseline to 20 +- 5
    weeks; n = 1,056 (524 treated, 532 control). Reference: difference in means +36.33
    cells/mm3 (SE 6.69).

    The 12 covariates are STEAM's own, from ``Datasets/load_aids.ipynb`` in harrya32/STEAM
    (``sample_rct``, itself taken from tobhatt/CorNet's ``load_rct_data.py``): continuous
    ``age``, ``wtkg``, ``cd40``, ``karnof``, ``cd80`` and binary ``gender``, ``homo``,
    ``race``, ``drugs``, ``symptom``, ``str2``, ``hemo``. The baseline count ``cd40`` is both
    a covariate and part of the outcome, as in STEAM; it is measured before randomization, so
    it is a valid covariate.

    STEAM standardises the outcome and the five continuous covariates (over all four arms);
    here they keep their raw scale, like every other dataset of the benchmark, so the truth is
    in cells/mm3. Standardising the outcome is a positive affine map y -> (y - m) / s: it
    divides the ATE, every estimate of it and every standard error by the same s > 0, so the
    ATE's sign, z statistics, interval coverage and any error measured in standard errors or
    relative to the effect are the same on either scale (STEAM's standardised ATE is this one
    divided by the change score's standard deviation, positive as well). The unit tests check
    the design on the raw scale (+36.33, SE 6.69).
    """

    control_arm, treated_arm = 0, 2
    design = "STEAM (NeurIPS 2025, harrya32/STEAM): arm 2 vs arm 0, outcome cd420 - cd40, raw scale"
    roles = Roles(
        treatment="A",
        outcome="cd4_change",
        outcome_type="continuous",
        covariates={
            **dict.fromkeys(["age", "wtkg", "cd40", "karnof", "cd80"], "continuous"),
            **dict.fromkeys(["gender", "homo", "race", "drugs", "symptom", "str2", "hemo"], "binary"),
        },
    )

    def outcome(self, raw: pd.DataFrame) -> pd.Series:
        return raw["cd420"] - raw["cd40"]
