"""The whole pipeline from one command: ``deepclean up`` (``./run.sh up``) and ``deepclean
wait-for``.

Contract: ``plan`` turns the settings and the frames already on disk into the processes to run
(pure: names, argument lists, the Procfile text); ``runner`` runs them under honcho's process
manager with each line prefixed on the console and appended to ``$PROJECT_DIR/logs/<name>.log``,
``supervisor`` starting a process that exits again after the backoff of ``restart`` (pure);
``cli`` is ``deepclean up``; ``wait_cli`` is ``deepclean wait-for``, which holds a dependent
service back until the services it needs answer their health endpoints; ``sandbox`` starts and
stops ``deepclean up`` in a work directory of its own on free ports (the soak, the drift
benchmark). The services
themselves are the ordinary ``deepclean`` subcommands: nothing here reaches into them.
"""
