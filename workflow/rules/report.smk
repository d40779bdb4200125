rule collect_tables:
    input:
        estimates=ate_cells(),
        tstr=tstr_cells(),
        dcr=dcr_folders(),
        positivity=positivity_cells(),
        engine=rules.engine_ranking.output.summary,
        engine_ranking=rules.engine_ranking.output.ranking,
        privacy=privacy_cells(),
        fidelity=fidelity_cells(),
        inferential_utility=inferential_cells(),
    output:
        **{
            t: report(
                f"results/tables/{t}.csv",
                caption=f"../report/table_{t}.rst",
                category="Tables",
            )
            for t in TABLES
        },
        **{f"{t}_md": f"results/tables/{t}.md" for t in TABLES},
    log:
        "logs/report/collect_tables.log",
    # gathers small files: runs where snakemake runs, never as a cluster job
    localrule: True
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # each base set's DCR summary, inside its dcr_filter folder
        dcr=dcr_jsons(),
    script:
        "../../scripts/collect_tables.py"


rule figures:
    input:
        tables=expand("results/tables/{table}.csv", table=TABLES),
        dcr=dcr_folders(),
    output:
        **{
            f: report(
                f"results/figures/{f}.png",
                caption=f"../report/{f}.rst",
                category="Figures",
            )
            for f in FIGURES
        },
        pdfs=expand("results/figures/{figure}.pdf", figure=FIGURES),
    log:
        "logs/report/figures.log",
    # gathers small files: runs where snakemake runs, never as a cluster job
    localrule: True
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dcr=dcr_jsons(),
        tables_dir=input_dir,
        out_dir=output_dir,
        benchmarks=benchmark_records(),
    script:
        "../../scripts/figures.py"


rule paper_figures:
    input:
        tables=expand("results/tables/{table}.csv", table=TABLES),
        dcr=dcr_folders(),
    output:
        **{
            f: report(
                f"results/figures/{f}.png",
                caption=f"../report/{f}.rst",
                category="Paper figures",
            )
            for f in PAPER_FIGURES
        },
        pdfs=expand("results/figures/{figure}.pdf", figure=PAPER_FIGURES),
        comparison=report(
            f"results/tables/{PAPER_COMPARISON}.csv",
            caption=f"../report/table_{PAPER_COMPARISON}.rst",
            category="Paper figures",
        ),
        comparison_md=f"results/tables/{PAPER_COMPARISON}.md",
    log:
        "logs/report/paper_figures.log",
    # reads tables and draws: runs where snakemake runs, never as a cluster job
    localrule: True
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dcr=dcr_jsons(),
        tables_dir=input_dir,
        out_dir=output_dir,
        settings=resolved_settings(),
    script:
        "../../scripts/paper_figures.py"


rule findings:
    input:
        tables=expand("results/tables/{table}.csv", table=TABLES),
        # the section "Beside the papers" reads the comparison table
        paper_comparison=rules.paper_figures.output.comparison,
    output:
        findings=report(
            "results/findings.md",
            caption="../report/findings.rst",
            category="Findings",
        ),
        # the HTML report's front page (Snakefile, report:), with each claim's headline
        front_page=FRONT_PAGE,
    log:
        "logs/report/findings.log",
    # gathers small files: runs where snakemake runs, never as a cluster job
    localrule: True
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tables_dir=input_dir,
    script:
        "../../scripts/findings.py"


rule provenance:
    input:
        cards=dataset_cards(),
        synthetic=synthetic_folders(),
        hybrids=hybrid_targets(),
        # the release gate's verdict on each set, put beside its meta.json's contents
        releases=release_records(),
        tables=expand("results/tables/{table}.csv", table=TABLES),
    output:
        provenance="results/provenance.json",
    log:
        "logs/report/provenance.log",
    # gathers small files: runs where snakemake runs, never as a cluster job
    localrule: True
    conda:
        "../../envs/causalsynth.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config=config,
        # every set's meta.json; a hybrid's lies in its dataset's hybrid folder
        metas=synthetic_metas() + hybrid_metas(),
    script:
        "../../scripts/provenance.py"
