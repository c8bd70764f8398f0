"""Array shapes used across the project, named once (in the spirit of ml4gw's jaxtyping aliases).

The aliases are documentation for readers and type checkers; numpy does not enforce them.
Axis names: ``batch`` windows in a request, ``channel`` witnesses (W), ``time`` samples.
"""

from typing import Annotated, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.floating]
#: one channel, ``(time,)`` samples
TimeSeriesArray: TypeAlias = Annotated[FloatArray, "time"]
#: several channels, ``(channel, time)``
MultiChannelArray: TypeAlias = Annotated[FloatArray, "channel time"]
#: windows of several channels, ``(batch, channel, time)``
WindowBatch: TypeAlias = Annotated[FloatArray, "batch channel time"]
#: one prediction per window, ``(batch, time)``
PredictionBatch: TypeAlias = Annotated[FloatArray, "batch time"]
