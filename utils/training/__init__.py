"""Training DeepClean on a span of detector data (import name ``deepclean.utils.training``).

Contract: ``gating`` and ``dataset`` are pure arithmetic on arrays (analysis-ready
segments, train/validation split, scalers, band-passed target, window batches); ``loop``
runs the optimisation (Adam, ReduceLROnPlateau, early stopping, best weights kept) and
touches the disk only for its periodic checkpoint; ``artifacts`` writes and reads
``weights.pt`` and ``metadata.json`` atomically; ``plots`` draws the loss curve and ASD
PNGs; ``settings`` holds the typed training settings and the ``production``/``cpu``
profiles read from ``[tool.deepclean.profiles.<name>]`` in ``pyproject.toml``;
``pipeline`` composes them: span in, trained model directory out; ``early_retrain`` is the
trainer's rule for retraining before its cadence (pure). A run that produces NaN
or fails validation raises :class:`~deepclean.utils.errors.TrainingError` and leaves any
previous model untouched.
"""
