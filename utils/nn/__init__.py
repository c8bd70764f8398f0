"""The DeepClean network and the scalers that travel with it (import name ``deepclean.utils.nn``).

Contract: pure torch modules, no I/O. :class:`~deepclean.utils.nn.model.DeepCleanModel` is
the module that gets exported and served: it takes raw witnesses ``(batch, W, T)`` and
returns the predicted noise ``(batch, T)`` in strain units, standardising inputs and
de-standardising the output with the statistics fitted on the training data (stored as
buffers in its state dict). ``T`` must be a multiple of 16 (four stride-2 stages).
"""

from deepclean.utils.nn.architecture import DeepCleanAE, TimeLengthError
from deepclean.utils.nn.model import DeepCleanModel
from deepclean.utils.nn.scaler import StandardScaler

__all__ = ["DeepCleanAE", "DeepCleanModel", "StandardScaler", "TimeLengthError"]
