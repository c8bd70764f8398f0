"""The ``deepclean validate`` command line the validate tests share."""

from __future__ import annotations

from pathlib import Path

#: the PSD and range geometry of the validate tests' 76 s spans
SPAN_FLAGS = ["--psd-length", "16", "--range-stride", "32"]


def validate_argv(
    data: Path, report_dir: Path, ifo: str, start: int, duration: int, *extra: str
) -> list[str]:
    """``validate`` over ``[start, start + duration)`` of ``data``, reporting into
    ``report_dir``; ``extra``: where the cleaned frames are, and any other flag."""
    return [
        "validate",
        "--data-dir",
        str(data),
        "--ifo",
        ifo,
        "--output-dir",
        str(report_dir),
        "--start",
        str(start),
        "--duration",
        str(duration),
        *extra,
    ]
