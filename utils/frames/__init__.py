"""Low-latency GWF frame streams.

Contract: ``naming`` is pure path arithmetic for LIGO's low-latency layout; ``gwf`` reads
and writes frame files (gwpy + LALFrame; atomic writes; validated reads raising
``FrameError``). Further modules add the crawler that follows a live stream and the
streaming preprocessing (resampling, dropped-frame tapers); those keep their math pure.
"""
