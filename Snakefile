# causalsynth: does synthetic tabular data keep the average treatment effect?
# This file is a table of contents; rules live in workflow/rules/, logic in src/causalsynth/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/privacy.smk"
include: "workflow/rules/hybrid.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets,
