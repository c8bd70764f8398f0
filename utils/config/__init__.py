"""Typed, validated settings for every service, from four layers.

Precedence, highest first:

1. command-line flags (only the flags actually given),
2. environment variables (and a ``.env`` file in the working directory): a setting
   ``foo_bar`` of service ``svc`` is read from ``DEEPCLEAN_SVC_FOO_BAR``; settings shared
   by all services (those of :class:`SharedSettings`, e.g. ``IFO``, ``DATA_DIR``,
   ``PROJECT_DIR``) also from their plain upper-case name, as in ``.env.example``,
3. ``[tool.deepclean.<service>]`` in ``pyproject.toml``, then the shared base table
   ``[tool.deepclean]``,
4. the defaults in code.

Each service declares a frozen pydantic model deriving from :class:`SharedSettings` and
builds it in ``main()`` with :func:`load_settings`. A bad value raises
:class:`~deepclean.utils.errors.ConfigError` whose message has one line per bad setting,
naming the setting, the value, where it came from and what is allowed.

The layering is ours; parsing is done by ``tomllib``, ``python-dotenv`` and ``argparse``,
and validation by pydantic. Modules: ``settings`` (:class:`SharedSettings` and the value types
``GPSSecond``, ``GPSDuration``, ``Port``, ``HttpUrl``, ``HostPort``), ``mixins`` (groups of
settings several commands share), ``layers`` (reading and merging the layers,
:func:`load_settings`), ``flags`` (the generated ``--flags``), ``outputs`` (checks that output
paths are writable). Everything is imported from here.
"""

from deepclean.utils.config.flags import (
    add_command,
    add_settings_flags,
    given_flags,
    show_default,
)
from deepclean.utils.config.layers import (
    CONFIG_ENV,
    ENV_FILE_ENV,
    describe_errors,
    find_pyproject,
    load_settings,
    read_env,
    read_env_file,
    read_tables,
    require,
)
from deepclean.utils.config.outputs import check_output_dir, check_output_file
from deepclean.utils.config.settings import (
    MAX_GPS,
    GPSDuration,
    GPSSecond,
    HostPort,
    HttpUrl,
    LogLevel,
    Port,
    PortOrZero,
    SharedSettings,
    check_paired,
    parameters_from,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_FILE_ENV",
    "MAX_GPS",
    "GPSDuration",
    "GPSSecond",
    "HostPort",
    "HttpUrl",
    "LogLevel",
    "Port",
    "PortOrZero",
    "SharedSettings",
    "add_command",
    "check_paired",
    "add_settings_flags",
    "check_output_dir",
    "check_output_file",
    "describe_errors",
    "find_pyproject",
    "given_flags",
    "load_settings",
    "parameters_from",
    "read_env",
    "read_env_file",
    "read_tables",
    "require",
    "show_default",
]
