"""A column held as codes into a vocabulary, so the writer makes no Python string per row."""

from typing import NamedTuple

import numpy as np


class Coded(NamedTuple):
    """A column held as integer codes into a vocabulary of strings; code -1 prints as "".

    Attributes
    ----------
    codes : numpy.ndarray
        Integer code of each row (-1: empty).
    vocab : numpy.ndarray
        Object array of the distinct strings.
    """

    codes: np.ndarray
    vocab: np.ndarray
