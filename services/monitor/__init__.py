"""The ``deepclean monitor`` service: canary promotion by ASD ratio, the bounded carousel of
cleaned frames, archives, and a status page (Flask served by waitress).

Modules: ``settings`` (MonitorSettings), ``cleaned`` (reading one cleaned frame),
``exporter_client`` (HTTP client of the exporter, retried), ``archive`` and ``carousel``
(files), ``state`` (shared state, persistence, Prometheus metrics), ``plots`` (PNG figures),
``app`` and ``page.html`` (the status page), ``service`` (the loop following the frames),
``checker`` (one canary check: versions, ASDs, ratios, decision, promotion), ``cli`` (the
subcommand). The arithmetic lives in
:mod:`deepclean.utils.monitoring`.
"""
