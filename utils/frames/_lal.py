"""Small helpers around LALFrame's Python bindings, private to :mod:`.gwf`.

LALFrame is imported lazily (importing lal takes ~0.1 s). Every call goes through
:func:`quiet`, which serialises LALFrame use across threads and silences XLAL's stderr
messages while it runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError

#: numpy dtype -> (FrVect type suffix, the compression LALFrame's own writers use for it)
WRITE_TYPES: dict[np.dtype, tuple[str, str]] = {
    np.dtype(np.int16): ("2S", "ZERO_SUPPRESS_WORD_2"),
    np.dtype(np.int32): ("4S", "ZERO_SUPPRESS_WORD_4"),
    np.dtype(np.int64): ("8S", "DIFF_GZIP"),
    np.dtype(np.uint16): ("2U", "ZERO_SUPPRESS_WORD_2"),
    np.dtype(np.uint32): ("4U", "ZERO_SUPPRESS_WORD_4"),
    np.dtype(np.uint64): ("8U", "DIFF_GZIP"),
    np.dtype(np.float32): ("4R", "DIFF_GZIP"),
    np.dtype(np.float64): ("8R", "DIFF_GZIP"),
    np.dtype(np.complex64): ("8C", "DIFF_GZIP"),
    np.dtype(np.complex128): ("16C", "DIFF_GZIP"),
}
_READ_SUFFIXES = {vect: dtype for dtype, (vect, _) in WRITE_TYPES.items()} | {
    "1U": np.dtype(np.uint8)
}
_read_dtypes: dict[int, np.dtype] = {}  # FrVect type code -> numpy dtype, filled on first use

_LOCK = threading.RLock()
_depth = 0
_query_data = None
#: what a failing LALFrame call raises through SWIG
LAL_FAILURES = (RuntimeError, ValueError, TypeError, OverflowError, MemoryError)


@contextlib.contextmanager
def quiet() -> Iterator[object]:
    """Hold the LALFrame lock with XLAL error printing off; yield the ``lalframe`` module."""
    global _depth
    import lal
    import lalframe

    with _LOCK:
        if not _read_dtypes:
            _read_dtypes.update(
                {getattr(lalframe, f"FRAMEU_FR_VECT_{v}"): d for v, d in _READ_SUFFIXES.items()}
            )
        saved = lal.GetDebugLevel()
        if _depth == 0:
            lal.ClobberDebugLevel(0)
        _depth += 1
        try:
            yield lalframe
        finally:
            _depth -= 1
            if _depth == 0:
                lal.ClobberDebugLevel(saved)


@contextlib.contextmanager
def as_frame_error(path: Path) -> Iterator[None]:
    """Turn a failure raised inside LALFrame into a FrameError naming the file."""
    try:
        yield
    except LAL_FAILURES as exc:
        raise FrameError(f"frame file {path} is unreadable: {type(exc).__name__}: {exc}") from exc


def read_dtype(vect_type: int) -> np.dtype | None:
    """The numpy dtype of a FrVect type code, None if unsupported (call inside :func:`quiet`)."""
    return _read_dtypes.get(vect_type)


def vector_data_address(chan) -> int:
    """Address of a LALFrame channel's sample buffer (0 if none).

    Calls ``XLALFrameUFrChanVectorQueryData`` through ctypes: the SWIG wrapper would return
    an unowned ``void *`` proxy whose destruction corrupts SWIG-LAL's memory bookkeeping
    (a later gwpy read in the same process then segfaults; seen with lalsuite 7.x).
    """
    global _query_data
    if _query_data is None:
        import lalframe

        function = ctypes.CDLL(lalframe._lalframe.__file__).XLALFrameUFrChanVectorQueryData
        function.restype = ctypes.c_void_p
        function.argtypes = [ctypes.c_void_p]
        _query_data = function
    return _query_data(int(chan)) or 0


def gps(seconds: float):
    """A ``lal.LIGOTimeGPS`` for ``seconds``, split into integer seconds and nanoseconds."""
    import lal

    whole = int(np.floor(seconds))
    nanoseconds = int(round((seconds - whole) * 1e9))
    if nanoseconds == 1_000_000_000:
        whole, nanoseconds = whole + 1, 0
    return lal.LIGOTimeGPS(whole, nanoseconds)
