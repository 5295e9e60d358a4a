"""``manifest-lint plugins``: the registered plugins, their versions and hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from manifest_lint.cli.exit_codes import ExitCode
from manifest_lint.cli.parsers import Parser, add_plugin_options, blocked_plugins
from manifest_lint.plugin.manager import PluginHost, get_plugin_manager


def plugins_command(argv: Sequence[str], out: TextIO) -> int:
    parser = Parser(
        prog="manifest-lint plugins",
        description="List plugins, their versions and the hooks they implement.",
    )
    add_plugin_options(parser)
    parser.parse_args(argv)
    host = PluginHost(get_plugin_manager(blocked=blocked_plugins(argv)))
    for name, version, hooks in host.plugin_list():
        out.write(f"{name}" + (f" ({version})" if version else "") + "\n")
        for hook in hooks:
            out.write(f"  {hook}\n")
    return ExitCode.OK
