"""``deepclean soak``: run the whole pipeline under faults for a while, then check it from disk.

Contract: ``faults`` is the fault schedule (pure) and the actions that inject each fault into a
running ``deepclean up`` (kill -9 a service by the pid ``up`` logged, corrupt a frame file,
overwrite a witness frame with NaNs, ...); ``verify`` checks the files the pipeline left,
independently of the services' own metrics: every GPS second with a readable strain frame has
exactly one cleaned second (carousel + archive, the same samples where both hold it; none
written twice, as a watcher saw during the run), no OUT_DQ sample is NaN; ``report`` writes
the markdown report with its plots; ``cli`` is the command.
"""
