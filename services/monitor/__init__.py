"""The ``deepclean monitor`` service: canary promotion by ASD ratio, the bounded carousel of
cleaned frames, archives, and a status page (Flask served by waitress).

Modules: ``settings`` (MonitorSettings), ``cleaned`` (reading one cleaned frame), ``exporter``
(HTTP client of the exporter, retried), ``archive`` and ``carousel`` (files), ``state``
(shared state, persistence, Prometheus metrics), ``plots`` (PNG figures), ``app`` (the status
page), ``service`` (the loop), ``cli`` (the subcommand). The arithmetic lives in
:mod:`deepclean.utils.monitoring`.
"""
