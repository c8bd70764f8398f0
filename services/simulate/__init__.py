"""``deepclean simulate``: a simulated detector writing LIGO low-latency frame streams.

Contract: writes 1 s GWF frames in exactly the layout of ``deepclean.utils.frames.naming``
(strain + state vector [+ ground truth] under ``$DATA_DIR/kafka/<IFO>/``, witnesses at
native rates under ``$DATA_DIR/lldetchar/<IFO>/``) and the channel list file, either as
fast as possible (backfill) or one frame per (sped-up) clock second. The data and every
injected fault (dropped files, not-ready state vector, partial writes) are deterministic
for ``(seed, GPS second)``.

- ``settings``: ``SimulateSettings`` (typed options of the command);
- ``faults``: pure, seeded decisions: which frames are dropped or written in pieces, the
  state vector of every second;
- ``writer``: ``FrameSink`` writes one simulated second as frame files, applying faults;
- ``loop``: the backfill and real-time loops, the GPS clock and the run summary;
- ``cli``: ``add_parser`` / ``run`` for the ``deepclean`` entry point.

The physics lives in ``deepclean.utils.simulation``.
"""
