# causalsynth: does synthetic tabular data keep the average treatment effect?
# This file is a table of contents; rules live in workflow/rules/, logic in src/causalsynth/.
from snakemake.utils import min_version

min_version("9.0")


# A --configfile replaces config/config.yaml, never merges into it: also inside cluster jobs,
# to which Snakemake 9 does not forward --replace-workflow-config (a job then planned with the
# default config's generators merged in and asked for inputs that do not exist).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# The report opens on a front page the findings rule writes: what the run is, each claim's
# headline and where to look next (run the workflow before `snakemake --report`).
FRONT_PAGE = "results/report/front_page.rst"


report: FRONT_PAGE


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/privacy.smk"
include: "workflow/rules/hybrid.smk"
include: "workflow/rules/estimate.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets,
