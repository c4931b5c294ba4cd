"""ServeConfig: the serve command's flags come from its fields, and bad values fail in one line naming the part."""

from __future__ import annotations

import argparse

import pytest

from ner_core import configuration
from ner_core.errors import ConfigError
from ner_core.serving.config import Fault, ServeConfig


def test_defaults_are_the_design_split_local_binding_and_no_faults():
    config = ServeConfig()
    assert config.host == "127.0.0.1" and not config.open_access
    assert config.weights_by_role() == {"primary": 90.0, "speed": 8.0, "backup": 2.0}
    assert config.faults_by_role() == {}
    assert (config.breaker_failures, config.breaker_reset_s) == (5, 60.0)


def test_weights_and_faults_parse():
    config = ServeConfig(weights="primary=1, speed=0", faults="primary:0.5:20, staging:1")
    assert config.weights_by_role() == {"primary": 1.0, "speed": 0.0}
    assert config.faults_by_role() == {"primary": Fault(0.5, 20.0), "staging": Fault(1.0, 0.0)}


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"weights": "primary=90,boss=10"}, "weights: 'boss' is not a serving role"),
        ({"weights": "primary=0"}, "at least one role needs a positive weight"),
        ({"weights": "primary=ninety"}, "primary has 'ninety', which is not a number"),
        ({"weights": "primary=-1"}, "it must be a number >= 0"),
        ({"weights": "primary=1,primary=2"}, "primary is given twice"),
        ({"weights": "primary"}, "'primary' is not role=weight"),
        ({"faults": "primary:2"}, "error probability must be from 0 to 1"),
        ({"faults": "primary:0.1:5:9"}, "too many parts"),
        ({"faults": "nobody:0.1"}, "'nobody' is not a role"),
        ({"port": 70000}, "port must be an integer from 0 to 65535"),
        ({"batch_wait_ms": -1}, "batch_wait_ms must be a number from 0 to 100"),
        ({"rate_limit_burst": 0}, "rate_limit_burst must be an integer"),
        ({"log_retention_days": 0}, "log_retention_days must be an integer from 1"),
    ],
)
def test_bad_settings_name_what_is_wrong(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", "\\(")):
        ServeConfig(**settings)


def test_the_serve_flags_fill_the_same_dataclass():
    parser = argparse.ArgumentParser()
    configuration.add_arguments(parser, ServeConfig)
    args = parser.parse_args(
        ["--port", "0", "--open-access", "--no-batching", "--faults", "speed:0:15", "--log-retention-days", "30"]
    )
    config = configuration.from_arguments(args, ServeConfig)
    assert (config.port, config.open_access, config.batching, config.log_retention_days) == (0, True, False, 30)
    assert config.faults_by_role() == {"speed": Fault(0.0, 15.0)}
    assert ServeConfig.from_json(config.to_json()) == config  # how --workers hands settings to each worker
