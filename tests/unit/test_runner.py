"""A job's log: a user's mistake ends as one line, a bug keeps its traceback."""

import pytest

from causalsynth.core.errors import ConfigError, DataError
from causalsynth.core.runner import logged, one_line, user_errors_as_one_line


def test_a_users_mistake_is_one_line_in_the_log_and_on_stderr(tmp_path, capfd):
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as stop, logged(log):
        raise DataError(
            "dataset 'd' (file x.csv)", "age", "declared binary but holds [-1, 0, 1]", "recode it"
        )
    assert stop.value.code == 1
    line = "causalsynth error: dataset 'd' (file x.csv), column 'age': declared binary but holds [-1, 0, 1]. Fix: recode it"
    assert log.read_text().splitlines()[-1] == line
    assert "Traceback" not in log.read_text()
    assert capfd.readouterr().err.strip().splitlines()[-1] == line


def test_a_bug_keeps_its_traceback(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(ZeroDivisionError), logged(log):
        1 / 0  # noqa: B018
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()


def test_messages_over_several_lines_are_folded_and_config_errors_exit_with_them():
    assert one_line(ConfigError("invalid configuration:\n- at 'x': bad")) == (
        "causalsynth error: invalid configuration: - at 'x': bad"
    )
    with pytest.raises(SystemExit) as stop, user_errors_as_one_line():
        raise ConfigError("generators: unknown generator ['ctgann']")
    assert stop.value.code == "causalsynth error: generators: unknown generator ['ctgann']"
