# Two jobs that fail on purpose, for the cluster test (tests/workflow/test_slurm_run.py): run
# with --workflow-profile profiles/slurm, it shows how failed SLURM jobs are reported and retried.
# Each attempt appends its SLURM job id and its memory request to a file of its own.


rule all:
    input:
        "flaky.done",
        "broken.done",


# Fails on its first attempt only, the way an out-of-memory job does: memory grows with the attempt
rule flaky:
    output:
        "flaky.done",
    log:
        "logs/flaky.log",
    resources:
        mem_mb=lambda wildcards, attempt: 500 * attempt,
        runtime=5,
    shell:
        "echo $SLURM_JOB_ID {resources.mem_mb} >> attempts_flaky.txt; "
        "test {resources.mem_mb} -gt 500 && touch {output} 2> {log}"


# Fails on every attempt: reported as failed once the profile's retries are spent
rule broken:
    output:
        "broken.done",
    log:
        "logs/broken.log",
    resources:
        mem_mb=lambda wildcards, attempt: 500 * attempt,
        runtime=5,
    shell:
        "echo $SLURM_JOB_ID {resources.mem_mb} >> attempts_broken.txt; "
        "echo 'failing on purpose' > {log}; exit 1"
