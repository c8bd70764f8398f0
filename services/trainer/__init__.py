"""Training DeepClean: the ``deepclean train`` command and the ``deepclean trainer`` service.

Contract: ``train_cli`` trains once on a given span and writes a model directory
(``weights.pt``, ``metadata.json``, plots); ``cli`` runs the service, which follows the
frame stream, trains on the latest ``train_duration`` seconds of analysis-ready data, then
retrains every ``retrain_cadence`` seconds from the previous weights (sooner when the
monitor's record shows production degrading: ``evidence``), writes each run to
``$PROJECT_DIR/train/<start>-<end>/`` and notifies the exporter by HTTP POST. A failed or
NaN run never replaces the previous model. Modules: ``ready`` (which seconds are ready, the
cadence), ``evidence`` (early runs), ``metrics``, ``notify``, ``service`` (the loop). The
training itself lives in ``deepclean.utils.training``.
"""
