"""``deepclean clean-offline``: apply a trained model to a stretch of frames.

Contract: uses exactly the streaming cleaner's arithmetic (``deepclean.utils.streaming``
windows and averaging, the same band-pass and subtraction), writes 1-s cleaned GWF frames
``<site>-<IFO>_llhoft_deepclean-<GPS>-1.gwf`` holding
``<IFO>:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION`` and a ``report.json`` with ASD ratios.
Modules: ``settings``, ``clean`` (the job, step by step), ``report`` (the figures of
``report.json`` and the bound on the in-band ratio), ``cli``.
"""
