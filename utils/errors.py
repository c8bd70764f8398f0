"""One small exception tree. Operators act on the subclasses; everything derives from DeepCleanError."""


class DeepCleanError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(DeepCleanError, ValueError):
    """A setting is missing or has a value that is not allowed."""


class FrameError(DeepCleanError):
    """A frame file is missing, unreadable, or its contents are not what was asked for."""


class DroppedFrameError(FrameError):
    """Too many consecutive frames were dropped for the stream to go on."""


class ServerUnavailableError(DeepCleanError):
    """A server (Triton, the exporter) could not be reached."""


class ExportError(DeepCleanError):
    """Exporting a model into a model repository failed; nothing half-written was left."""


class TrainingError(DeepCleanError):
    """Training failed or produced a model that must not replace the previous one."""
