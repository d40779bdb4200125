"""A run beside the papers: their numbers (`numbers`), whether the run's settings are theirs
(`settings`) and the comparison table (`comparison`) the paper figures and the findings read."""
