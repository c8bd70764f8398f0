"""``deepclean cleaning``: the kill switch, for operators (no service runs here).

``disable`` turns cleaning of one IFO off, ``enable`` turns it on again, ``status`` shows it;
each change is written to ``$PROJECT_DIR/cleaning/<IFO>.json`` (atomic, fsynced) and to the
audit log (``$PROJECT_DIR/audit.jsonl``). The cleaner and the monitor follow the file
(:mod:`deepclean.utils.kill_switch`): while it is off, every cleaned frame written carries
OUT_DQ = raw strain and state bit ``CLEANING_DISABLED``, and the monitor neither promotes nor
rolls back. ``cli.py`` holds the command.
"""
