"""Low-latency GWF frame streams: files in, validated 1-s frames and 4096 Hz blocks out.

Contract: every GPS second of a stream comes out exactly once, in order, as data or as a
"dropped" marker with its reason; a bad file (missing, partial, corrupt, wrong channels,
rates, length, GPS time, NaN/Inf) never crashes a loop and never becomes silent garbage.

I/O modules:

* ``naming``: LIGO's low-latency layout (``kafka/<IFO>``, ``lldetchar/<IFO>``); pure paths;
* ``gwf``: read/write GWF with LALFrame (atomic, fsynced writes here; checksum-verified,
  validated reads raising FrameError in ``gwf_read``; the ``Channel`` record in ``channel``;
  all importable from ``gwf``); ``checksum`` is the GWF file checksum reads verify first;
* ``watch`` + ``crawler``: follow one stream directory with filesystem events
  (:class:`~.crawler.FrameCrawler` -> :class:`~.crawler.FrameEvent` per second);
* ``reader``: read and validate the strain + witness frames of one second
  (:class:`~.reader.FramePairReader`), and both streams together (:class:`~.reader.FrameStream`);
* ``span``: load a stretch of frames for training (:func:`~.span.read_span`).

Pure math (numpy/scipy, no I/O, no clock):

* ``state``: analysis-ready decoding of the state vector (``value & 3 == 3``);
* ``resample``: anti-aliased resampling to the processing rate;
* ``taper``: a dropped second fades out (mirror of the data before it, half Hann), the second
  after it tapers in; nothing received earlier is altered (no look-ahead);
* ``stream``: :class:`~.stream.StreamingResampler`, 1-s frames in, 1-s blocks at 4096 Hz out,
  the filter's reach (2.4 ms for strain, 39 ms for 256 Hz witnesses) behind.
"""
