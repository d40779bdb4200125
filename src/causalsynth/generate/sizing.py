"""How long a neural generator trains: a batch that fits the data, and epochs from a step target.

A fixed number of epochs means very different training on 300 and on 6,000 rows: with
ctgan's batch of 500, 50 epochs are 50 optimizer steps on the first and 600 on the second.
The rule here sizes training by optimizer steps instead:

* **Batch.** An explicit ``batch_size`` is used as given and must suit the data: at most the
  training rows, and a multiple of ``multiple`` (CTGAN: ``pac`` and 2, because its
  discriminator scores packs of ``pac`` rows and its conditional sampler splits a batch in
  halves). ``batch_size: null`` takes ``max_batch_size`` rounded down to that multiple, or the
  training rows rounded down to it where the data is smaller.
* **Epochs.** An explicit ``epochs`` is used as given (the paper's 50). ``epochs: null``
  trains for at least ``steps`` optimizer steps: ``ceil(steps / steps_per_epoch)`` epochs.

A setting that cannot work is a :class:`~causalsynth.core.errors.ConfigError` naming the
generator, the dataset and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from causalsynth.core.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """The training one fit runs: its batch, epochs and optimizer steps."""

    batch_size: int
    epochs: int
    steps_per_epoch: int

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def schedule(
    n_rows: int,
    *,
    batch_size: int | None,
    max_batch_size: int,
    epochs: int | None,
    steps: int,
    multiple: int,
    drop_last: bool,
    who: str,
    dataset: str,
) -> Schedule:
    """The batch and epochs of one fit on ``n_rows`` training rows (see the module's rule).

    ``drop_last``: an epoch is ``n_rows // batch`` steps (ctgan's CTGAN) rather than
    ``ceil(n_rows / batch)`` (a data loader keeping the last short batch: TVAE).
    """
    where = f"{who} on dataset '{dataset}' ({n_rows} training rows)"
    largest = n_rows // multiple * multiple
    if largest < multiple:
        raise ConfigError(
            f"{where}: needs at least {multiple} training rows for one batch (a multiple of {multiple}). "
            "Fix: use a larger dataset or a smaller pac"
        )
    if batch_size is None:
        batch = min(max_batch_size // multiple * multiple, largest)
        if batch < multiple:
            raise ConfigError(
                f"{where}: max_batch_size {max_batch_size} is below one batch of {multiple} rows. "
                f"Fix: set max_batch_size to at least {multiple}"
            )
    else:
        batch = batch_size
        if batch % multiple:
            raise ConfigError(
                f"{where}: batch_size {batch} is not a multiple of {multiple}"
                f"{' (pac and 2)' if multiple > 1 else ''}. Fix: set batch_size to "
                f"{max(multiple, batch // multiple * multiple)}, or null to size it from the data"
            )
        if batch > n_rows:
            raise ConfigError(
                f"{where}: batch_size {batch} is larger than the data. Fix: set batch_size to at most "
                f"{largest}, or null to size it from the data"
            )
    per_epoch = max(n_rows // batch, 1) if drop_last else math.ceil(n_rows / batch)
    n_epochs = epochs if epochs is not None else math.ceil(steps / per_epoch)
    return Schedule(batch_size=batch, epochs=n_epochs, steps_per_epoch=per_epoch)
