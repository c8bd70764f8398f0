"""``deepclean soak``: run the whole pipeline under faults for a while, then check it from disk.

Contract: ``faults`` is the fault schedule (pure) and the actions that inject each fault into a
running ``deepclean up`` (kill -9 a service by the pid ``up`` logged, corrupt a frame file,
overwrite a witness frame with NaNs, ...); ``disk`` is the disk-full fault (the project
directory on a tmpfs of its own, filled for a while), ``promotion`` the exporter killed during
a promotion and the check that one production version is served afterwards; ``verify`` checks
the files the pipeline left, independently of the services' own metrics: every GPS second
with a readable strain frame has exactly one cleaned second (carousel + archive, the same
samples where both hold it; none written twice, as a watcher saw during the run), no OUT_DQ
sample is NaN; ``models`` checks that OUT_DQ was never cleaned by a version whose in-band
ratio, measured from the cleaned frames, is above 1; ``alerts`` turns Prometheus's answers
into episodes and names the alert that answered each fault; ``report`` writes the markdown
report with its figures (``plots``); ``http`` asks the services; ``cli`` is the command.
"""
