rule dcr_filter:
    input:
        train=rules.prepare_dataset.output.train,
        holdout=rules.prepare_dataset.output.holdout,
        card=rules.prepare_dataset.output.card,
        synthetic=rules.generate.output.data,
    output:
        filtered="results/privacy/{dataset}/{generator}/rep{rep}/filtered.parquet",
        summary="results/privacy/{dataset}/{generator}/rep{rep}/dcr.json",
    log:
        "logs/privacy/{dataset}/{generator}/rep{rep}.log",
    benchmark:
        "results/benchmarks/dcr_filter/{dataset}/{generator}/rep{rep}.tsv"
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        dcr=config["dcr"],
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
        sets=privacy_set_paths,
        metas=privacy_meta_paths,
        cells=privacy_sets,
        data_reps=data_reps,
        seeds=privacy_seeds,
    script:
        "../../scripts/privacy_attacks.py"
