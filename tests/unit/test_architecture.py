"""The package is shaped like the workflow: a stage imports the core and stages upstream of it
in the DAG, never a sibling downstream; the core imports no stage."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "causalsynth"
# Each stage and the stages it may import: its upstream neighbours in the workflow's DAG.
ALLOWED = {
    "core": set(),
    "data": {"core"},
    # data: prepare_dataset is upstream (the file generator checks a released set as data)
    "generate": {"core", "data"},
    "privacy": {"core"},
    "hybrid": {"core"},
    "estimate": {"core"},
    "evaluate": {"core", "data", "estimate", "hybrid"},
    "report": {"core"},
    "config": {"core", "data", "generate", "estimate"},
    # the notebook API runs one dataset's stages in memory (ARCHITECTURE.md, api/)
    "api": {"core", "data", "generate", "privacy", "estimate", "evaluate"},
}


def imports_by_stage() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        stage = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("causalsynth."):
                target = node.module.split(".")[1]
                if target != stage:
                    found.setdefault(stage, set()).add(target)
    return found


def test_every_stage_imports_only_what_is_upstream_of_it():
    found = imports_by_stage()
    assert set(found) <= set(ALLOWED) | {"__init__"}, f"unknown stage(s): {set(found) - set(ALLOWED)}"
    for stage, targets in found.items():
        assert targets <= ALLOWED[stage], (
            f"{stage} imports {sorted(targets - ALLOWED[stage])}, not upstream of it"
        )


RULES = PACKAGE.parents[1] / "workflow" / "rules"
SCRIPTS = PACKAGE.parents[1] / "scripts"


def rules_by_stage() -> dict[str, list[str]]:
    """The rules of each stage's rule file (workflow/rules/<stage>.smk), read from the files."""
    return {
        smk.stem: re.findall(r"^rule (\w+):", smk.read_text(), flags=re.M)
        for smk in sorted(RULES.glob("*.smk"))
        if smk.stem != "common"
    }


def test_every_rule_file_is_a_stage_and_every_rule_calls_its_stage():
    stages = rules_by_stage()
    assert set(stages) <= set(ALLOWED) - {"core", "config", "api"}, (
        f"rule files without a stage: {set(stages) - set(ALLOWED)}"
    )
    scripted = set()
    for stage, rules in stages.items():
        assert (PACKAGE / stage).is_dir(), (
            f"workflow/rules/{stage}.smk has no subpackage src/causalsynth/{stage}/"
        )
        for rule in rules:
            script = SCRIPTS / f"{rule}.py"
            if not script.exists():
                continue  # a rule without a script (rule all) calls no stage
            scripted.add(rule)
            assert f"from causalsynth.{stage}" in script.read_text(), (
                f"scripts/{rule}.py does not call the {stage} stage its rule file names"
            )
    # every adapter belongs to a rule of some stage file: none is left over from a removed rule
    assert {p.stem for p in SCRIPTS.glob("*.py")} == scripted


def test_every_figure_has_its_own_module():
    # report/figures/<id>.py draws the figure <id> of FIGURES with plot_<id>; make_all_figures draws them all
    from causalsynth.core.vocabulary import FIGURES, PAPER_FIGURES

    figures = PACKAGE / "report" / "figures"
    for name in (*FIGURES, *PAPER_FIGURES):
        tree = ast.parse((figures / f"{name}.py").read_text())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert f"plot_{name}" in defined, f"report/figures/{name}.py does not define plot_{name}"


def test_figures_import_only_the_core_and_the_report():
    for path in (PACKAGE / "report" / "figures").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("causalsynth."):
                assert node.module.split(".")[1] in {"core", "report"}, f"{path.name} imports {node.module}"


def test_modules_stay_under_500_lines():
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        assert len(path.read_text().splitlines()) < 500, f"{name} has 500 lines or more: split it"
