"""Pure arithmetic of the monitor service (import name ``deepclean.utils.monitoring``).

Contract: functions and small state objects over arrays and integers; no files, no network,
no clock (the service in ``deepclean.services.monitor`` does the I/O).

- ``asd``: Welch ASDs and in-band ASD ratios, with the reasoning behind the segment length,
  FFT length and averaging used for promotion checks;
- ``segment``: which cleaned seconds a check may use (state-vector bits, versions);
- ``decision``: consecutive passes promote, consecutive failures reject;
- ``rollback``: consecutive bad checks of production call for a rollback;
- ``production_record``: production's ratio per check since its promotion (the record the
  monitor writes for the trainer);
- ``spans``: archive spans, gaps, carousel and retention bookkeeping in GPS seconds.
"""
