rule dcr_filter:
    # every replicate of one generator in one job: a screen takes less time than a job's
    # start-up. The folder holds each replicate as rep{r}/filtered.parquet and dcr.json.
    input:
        synthetic=rules.generate.output.folder,
        trains=dcr_trains,
        holdouts=dcr_holdouts,
        cards=dcr_cards,
    output:
        folder=directory("results/privacy/{dataset}/{generator}"),
    log:
        "logs/privacy/{dataset}/{generator}.log",
    benchmark:
        "results/benchmarks/dcr_filter/{dataset}/{generator}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=runtime_per_set(2),
    params:
        dcr=config["dcr"],
        reps=generator_reps,
        cells=dcr_records,
    script:
        "../../scripts/dcr_filter.py"


rule privacy_attacks:
    # One job per dataset attacks all its releasable sets: a job's start-up (the package's and
    # anonymeter's imports, about 3 s) would otherwise cost as much as the attacks on a set.
    # The release gate (privacy.release) runs in the same job on its results: its verdicts are
    # columns of the table and release.json, this job's own files (a set's meta.json belongs to
    # the rule that made the set and is not rewritten).
    input:
        unpack(privacy_inputs),
    output:
        table="results/privacy/{dataset}/attacks.parquet",
        release="results/privacy/{dataset}/release.json",
    log:
        "logs/privacy_attacks/{dataset}.log",
    benchmark:
        "results/benchmarks/privacy_attacks/{dataset}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        privacy=config["privacy"],
        dcr=config["dcr"],
        cells=privacy_records,
        data_reps=data_reps,
    script:
        "../../scripts/privacy_attacks.py"
