"""The server's settings are defined once (``Config``): the command line and
``ServerProcess``'s command are made from it, so neither restates a default."""

from __future__ import annotations

import argparse
import dataclasses

from magnetodb.server.process import ServerProcess
from magnetodb.server.serve import Config, add_arguments, config_from_args


def _parse(argv: list[str]) -> Config:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return config_from_args(parser.parse_args(argv))


def test_the_command_line_defaults_are_configs():
    assert _parse([]) == Config()


def test_a_config_survives_its_own_command_line():
    config = Config(host="::1", port=0, data_dir="/d", workers=3, engine="memory", sync=True,
                    max_item_bytes=1024, tokens="/t.json", show_trace=True)  # fmt: skip
    assert _parse(config.to_argv()) == config


def test_server_process_runs_its_config(tmp_path):
    server = ServerProcess(str(tmp_path), workers=2, sync=True)
    argv = server.command("/ready")
    assert (
        argv[argv.index("magnetodb.server.serve") + 1 :]
        == dataclasses.replace(
            Config(data_dir=str(tmp_path), workers=2, sync=True, port=0), ready_file="/ready"
        ).to_argv()
    )
    assert _parse(argv[argv.index("magnetodb.server.serve") + 1 :]).port == 0
    server.cleanup()
