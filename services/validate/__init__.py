"""``deepclean validate``: does cleaning preserve injected signals, and does the range rise?

Contract: reads cleaned frames (the cleaner's carousel and the monitor's archive, or
``clean-offline`` output), the raw strain frames with the simulator's truth channels and an
injection list; writes ``report.json`` and plots into its output directory and exits
non-zero when an injection lost more than ``max_snr_loss`` of its SNR. The math is in
``deepclean.utils.signal`` (``snr``, ``recovery``, ``range``).
"""
