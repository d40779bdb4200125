"""GReaT's text encoding: a row as ``"W1 is 0, W4 is 1.234, A is 1, Y is 0"``.

Values are written as be-great writes them (:func:`format_value`); be-great's dataset does the
encoding and the per-row feature shuffle of fine-tuning (:func:`row_text_dataset`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causalsynth.core.errors import DataError

# The text encoding separates features with ", " and names from values with " is "; a name or
# level holding either could not be read back.
SEPARATORS = (",", " is ")


def format_value(value: Any, float_precision: int | None) -> str:
    """A value as be-great writes it: floats to ``float_precision`` decimals, zeros trimmed."""
    if isinstance(value, float | np.floating) and float_precision is not None:
        text = f"{value:.{float_precision}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value).strip()


def check_text(text: str, source: str, column: str, what: str) -> None:
    if any(sep in text for sep in SEPARATORS) or text != text.strip() or not text:
        raise DataError(
            source,
            column,
            f"the {what} {text!r} cannot be written as GReaT text (it is empty, has outer spaces, "
            "or holds ',' or ' is ')",
            f"rename the {what} when the dataset is prepared",
        )


def row_text_dataset(data: pd.DataFrame, tokenizer: Any, float_precision: int | None, shuffle: bool):
    """be-great's dataset (text encoding, per-row feature permutation), order optionally fixed."""
    from be_great.great_dataset import GReaTDataset

    class RowTextDataset(GReaTDataset):
        def _getitem(self, key, decoded: bool = True, **kwargs):
            if self._shuffle:
                return super()._getitem(key, decoded, **kwargs)
            row = self._data.fast_slice(key, 1)
            text = ", ".join(
                f"{row.column_names[i]} is {self._format_value(row.columns[i].to_pylist()[0])}"
                for i in range(row.num_columns)
            )
            return self.tokenizer(text, padding=True)

    # be-great shuffles with Python's global random module: callers seed it in isolation
    dataset = RowTextDataset.from_pandas(data.reset_index(drop=True), preserve_index=False)
    dataset.set_tokenizer(tokenizer, float_precision)
    dataset._shuffle = shuffle
    return dataset


def texts_to_rows(texts: list[str], columns: list[str]) -> pd.DataFrame:
    """Read ``"name is value"`` pairs back; the first value of each column counts.

    Returns text values (``None`` where a text has no value for a column); generation runs
    on past the first row, and whatever follows the first occurrence of a column is
    ignored, as in be-great.
    """
    rows = []
    for text in texts:
        row: dict[str, str | None] = dict.fromkeys(columns)
        for piece in text.replace("\n", " ").split(","):
            name, sep, value = piece.strip().partition(" is ")
            if sep and name in row and row[name] is None:
                row[name] = value.strip()
        rows.append(row)
    return pd.DataFrame(rows, columns=columns, dtype=object)
