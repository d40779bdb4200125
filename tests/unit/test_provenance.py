import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import numpy as np

from causalsynth.core.provenance import CORE_PACKAGES, PACKAGES, package_versions, provenance_record
from causalsynth.report.provenance import write_provenance


def test_record_names_versions_and_commit():
    record = provenance_record(CORE_PACKAGES)
    assert record["versions"]["numpy"] == np.__version__
    assert record["versions"]["python"]
    # this checkout is a git repository: the commit is recorded, marked when tracked files differ
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", record["git_commit"])


def test_missing_distribution_is_null():
    assert package_versions(("no-such-distribution",))["no-such-distribution"] is None


def test_write_provenance_gathers_cards_and_jobs(tmp_path):
    import json

    card = tmp_path / "card.json"
    card.write_text(json.dumps({"dataset": "d", "seed": 1}))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"seed": 5, "git_commit": "x"}))
    out = tmp_path / "provenance.json"
    write_provenance({"seed": 1}, [str(card)], [str(meta)], str(out))
    got = json.loads(out.read_text())
    assert got["config"] == {"seed": 1} and got["datasets"]["d"][0]["seed"] == 1
    assert got["jobs"][str(meta)]["seed"] == 5 and "versions" in got


def test_provenance_puts_each_sets_release_verdict_beside_its_meta(tmp_path):
    import json

    card = tmp_path / "card.json"
    card.write_text(json.dumps({"dataset": "d", "seed": 1}))
    metas = {g: tmp_path / f"{g}.json" for g in ("ctgan", "hybrid_ctgan")}
    for meta in metas.values():
        meta.write_text(json.dumps({"seed": 5}))
    sets = [
        {"generator": "ctgan", "rep": 1, "set": "unfiltered", "data": "s.parquet", "meta": str(metas["ctgan"]),
         "releasable": "no", "reason": "not screened by the DCR filter", "checks": []},
        {"generator": "ctgan", "rep": 1, "set": "filtered", "data": "f.parquet", "meta": str(metas["ctgan"]),
         "releasable": "no", "reason": "over: inference_risk upper 95% bound 0.400 > 0.2", "checks": []},
        {"generator": "hybrid_ctgan", "rep": 1, "set": "filtered", "data": "p.parquet",
         "meta": str(metas["hybrid_ctgan"]), "releasable": "no", "reason": "its base ctgan is not releasable",
         "checks": [], "base": "ctgan", "base_releasable": "no"},
    ]  # fmt: skip
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"dataset": "d", "thresholds": {}, "counts": {"no": 3}, "sets": sets}))
    out = tmp_path / "provenance.json"
    write_provenance({}, [str(card)], [str(m) for m in metas.values()], str(out), releases=[str(release)])
    got = json.loads(out.read_text())
    base = got["jobs"][str(metas["ctgan"])]["release"]
    assert set(base) == {"unfiltered", "filtered"} and base["filtered"]["releasable"] == "no"
    assert (
        base["filtered"]["reason"].startswith("over: inference_risk")
        and base["filtered"]["data"] == "f.parquet"
    )
    assert got["jobs"][str(metas["hybrid_ctgan"])]["release"]["filtered"]["reason"].startswith(
        "its base ctgan"
    )
    assert got["release"]["d"]["counts"] == {"no": 3}


def test_a_snapshot_outside_git_reports_the_commit_it_was_taken_from(tmp_path, monkeypatch):
    from causalsynth.core.provenance import SNAPSHOT_COMMIT_VARIABLE, git_commit

    monkeypatch.delenv(SNAPSHOT_COMMIT_VARIABLE, raising=False)
    assert git_commit(tmp_path) is None
    monkeypatch.setenv(SNAPSHOT_COMMIT_VARIABLE, "abc123")
    assert git_commit(tmp_path) == "abc123"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_run_records_every_package_it_imports():
    # every third-party module imported anywhere in the package, and every generator's own list
    from causalsynth.generate import GENERATORS

    recorded = {_normal(p) for p in PACKAGES}
    distributions = packages_distributions()
    imported = set()
    for path in (Path(__file__).resolve().parents[2] / "src" / "causalsynth").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"causalsynth", "__future__"}
    missing = {m for m in third_party if not {_normal(d) for d in distributions.get(m, [m])} & recorded}
    assert not missing, f"imported but not in core.provenance.PACKAGES: {sorted(missing)}"
    for name in GENERATORS.names():
        own = {_normal(p) for p in GENERATORS.get(name).packages}
        assert own <= recorded, f"{name}: {sorted(own - recorded)} not in PACKAGES"
