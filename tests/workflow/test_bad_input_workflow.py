"""Every file of the bad-input corpus through the workflow: the exact error, no output left.

One Snakemake run prepares all of them as separate datasets with --keep-going, so each job
fails on its own file and prints its own log.
"""

import pytest
import yaml

from .conftest import ROOT, copy_workflow, snakemake

BAD = ROOT / "tests" / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text())
FILES = sorted(n for n in CASES if n.endswith(".csv"))
CONFIGS = sorted(n for n in CASES if n.endswith(".yaml"))
BASE = {
    "loader": "csv",
    "treatment": "treated",
    "outcome": "outcome",
    "covariates": {"age": "continuous", "female": "binary", "region": "categorical"},
}

pytestmark = pytest.mark.workflow


def dataset_id(name: str) -> str:
    return "bad_" + name.removesuffix(".csv")


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    root = copy_workflow(tmp_path_factory.mktemp("bad"))
    datasets = {
        dataset_id(name): {
            **BASE,
            **case.get("options", {}),
            **({"checks": case["checks"]} if "checks" in case else {}),
            "path": f"tests/data/bad/{name}",
        }
        for name, case in CASES.items()
        if name in FILES
    }
    (root / "bad.yaml").write_text(yaml.safe_dump({"datasets": datasets}))
    targets = [f"results/data/{d}/rep1/card.json" for d in datasets]
    proc = snakemake(
        *targets, "--keep-going", "--cores", "2", "--configfile", "bad.yaml", cwd=root, check=False
    )
    return root, proc


@pytest.mark.parametrize("name", FILES)
def test_bad_file_stops_its_job_with_its_message(name, bad_run):
    root, proc = bad_run
    assert proc.returncode != 0
    expected = CASES[name]["error"].format(path=f"tests/data/bad/{name}", dataset=dataset_id(name))
    log = (root / "logs" / "data" / dataset_id(name) / "rep1.log").read_text()
    assert expected in log
    assert expected in proc.stdout + proc.stderr  # shown to the user, not only in the log
    assert f"causalsynth error: {expected}" in log.splitlines()  # the message alone, on one line
    assert "Traceback" not in log
    out = root / "results" / "data" / dataset_id(name)
    assert not out.exists() or not any(out.iterdir())


def test_a_users_mistake_reaches_the_terminal_without_a_traceback(bad_run):
    _, proc = bad_run
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", CONFIGS)
def test_bad_config_stops_the_run_before_any_job(name, workdir):
    proc = snakemake("-n", "--configfile", f"tests/data/bad/{name}", cwd=workdir, check=False, timeout=300)
    shown = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"causalsynth error: {CASES[name]['error']}" in shown.splitlines()
    assert "Traceback" not in shown
    assert not (workdir / "results").exists()
