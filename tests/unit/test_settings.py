"""The settings object: read from ASSISTANT_* variables, every value checked, the README's table true."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from assistant.cli import main
from assistant.settings import ENV_PREFIX, PROJECT_ROOT, Settings, SettingsError, bundled_dir

FLOAT_FIELDS = [name for name, f in Settings.model_fields.items() if f.annotation is float]


@pytest.mark.parametrize(
    ("variable", "value", "japanese"),
    [
        ("RRF_K", "-1", "0 以上"),
        ("CHUNK_OVERLAP_SENTENCES", "-1", "0 以上"),
        ("CHUNK_MAX_TOKENS", "8", "16 以上"),
        ("TOP_K", "0", "1 以上"),
        ("TOP_K", "五", "整数"),
        ("ABSTAIN_THRESHOLD", "nan", "nan・inf は使えません"),
        ("ABSTAIN_THRESHOLD", "inf", "nan・inf は使えません"),
        ("ABSTAIN_THRESHOLD", "高い", "数値"),
        ("LLM_TIMEOUT", "0", "0 より大きく"),
        ("MODE", "semantic", "hybrid"),
        ("EMBEDDING_BACKEND", "openai", "sentence-transformers"),
        ("CHROMA_URL", "localhost:8000", "http://"),
    ],
)
def test_a_value_that_cannot_work_is_refused_naming_the_variable(variable, value, japanese):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({ENV_PREFIX + variable: value})
    message = str(caught.value)
    assert message.startswith(f"{ENV_PREFIX}{variable}={value!r}: ")
    assert japanese in message and " / " in message  # Japanese first, then pydantic's English


@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_no_number_setting_takes_nan(name):
    """NaN compares false with everything: a NaN threshold or weight would silently change answers."""
    with pytest.raises(SettingsError, match=ENV_PREFIX + name.upper()):
        Settings.from_env({ENV_PREFIX + name.upper(): "nan"})
    with pytest.raises(SettingsError):
        Settings.from_env({}).replace(**{name: math.nan})


def test_every_refused_value_is_listed_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ASSISTANT_RRF_K": "-1", "ASSISTANT_ABSTAIN_THRESHOLD": "nan"})
    assert str(caught.value).count("\n") == 1


def test_the_cli_prints_the_problem_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_ABSTAIN_THRESHOLD", "nan")
    assert main(["sections"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("エラー: 設定値が正しくありません") and "ASSISTANT_ABSTAIN_THRESHOLD='nan'" in err
    assert "Traceback" not in err


def test_values_are_read_converted_and_overridden():
    settings = Settings.from_env(
        {"ASSISTANT_TOP_K": "7", "ASSISTANT_ABSTAIN_THRESHOLD": "0.9", "ASSISTANT_MODE": "", "OTHER": "x"},
        mode="bm25",
        rrf_k=None,  # None: not overridden
    )
    assert (settings.top_k, settings.abstain_threshold, settings.mode, settings.rrf_k) == (7, 0.9, "bm25", 60)
    with pytest.raises(SettingsError, match="ASSISTANT_NO_SUCH_SETTING"):
        Settings.from_env({}, no_such_setting=1)


def test_a_given_mapping_replaces_the_process_environment(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOP_K", "9")
    assert Settings.from_env().top_k == 9
    assert Settings.from_env({}).top_k == 5


def test_replace_checks_the_new_values_and_keeps_the_rest():
    settings = Settings.from_env({"ASSISTANT_TOP_K": "3"})
    assert settings.replace(mode="dense").top_k == 3
    with pytest.raises(SettingsError, match="ASSISTANT_RRF_K"):
        settings.replace(rrf_k=-1)
    with pytest.raises(ValueError):  # frozen: passed down, never changed in place
        settings.top_k = 4


def test_state_goes_under_assistant_home_unless_a_folder_is_set(tmp_path):
    settings = Settings.from_env({"ASSISTANT_HOME": str(tmp_path), "ASSISTANT_DATA_DIR": str(tmp_path / "elsewhere")})
    assert settings.index_dir == tmp_path / "index"
    assert settings.reports_dir == tmp_path / "reports"
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.feedback_db == tmp_path / "elsewhere" / "feedback.sqlite3"
    assert Settings.from_env({"ASSISTANT_HOME": "~/assistant"}).index_dir.parts[-2:] == ("assistant", "index")


def test_from_a_checkout_everything_defaults_to_the_checkouts_folders():
    settings = Settings.from_env({})
    assert settings.home == PROJECT_ROOT
    assert settings.corpus_dir == PROJECT_ROOT / "corpus"
    assert (settings.index_dir, settings.data_dir) == (PROJECT_ROOT / "index", PROJECT_ROOT / "data")
    assert bundled_dir("evals") == PROJECT_ROOT / "evals"


def _readme_settings_table() -> dict[str, str]:
    """``ASSISTANT_X`` → its documented default, from the README's settings table."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # \| is a pipe in a cell
        if len(cells) == 3 and cells[0].startswith("`ASSISTANT_"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_readme_settings_table_lists_every_setting_with_its_default():
    documented = _readme_settings_table()
    fields = Settings.model_fields
    assert set(documented) == {ENV_PREFIX + name.upper() for name in fields}
    defaults = Settings.from_env({})
    for variable, shown in documented.items():
        value = getattr(defaults, variable.removeprefix(ENV_PREFIX).lower())
        literal = re.fullmatch(r"`([^`]*)`", shown)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            if value == "":
                assert shown == "", f"{variable}: README shows {shown!r}, the default is empty"
            else:
                assert literal and literal.group(1) == str(value), f"{variable}: README {shown!r}, code {value!r}"


def test_bench_without_its_extra_says_what_to_install():
    code = "import sys; sys.modules['psutil'] = None\nfrom assistant.cli import main\nsys.exit(main(['bench']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "pip install 'kyodo-assistant[bench]'" in result.stderr and "psutil" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_installed_assistant_reads_its_own_corpus_once_it_has_one(tmp_path, monkeypatch):
    """Installed, the bundled guideline is read until ``assistant add`` copied it under the home
    (``cli.writable_corpus``); from then on the home's corpus is the corpus."""
    import assistant.settings as settings_module
    from assistant.ingestion.corpus import copy_corpus, read_registry

    monkeypatch.setattr(settings_module, "running_from_checkout", lambda: False)
    home = tmp_path / "home"
    assert Settings.from_env({}, home=home).corpus_dir == settings_module.bundled_dir("corpus")
    copy_corpus(PROJECT_ROOT / "corpus", home / "corpus")
    assert read_registry(home / "corpus") == read_registry(PROJECT_ROOT / "corpus")
    assert Settings.from_env({}, home=home).corpus_dir == home / "corpus"
    assert Settings.from_env({"ASSISTANT_HOME": str(home)}).corpus_dir == home / "corpus"
    chosen = tmp_path / "elsewhere"
    assert Settings.from_env({"ASSISTANT_CORPUS_DIR": str(chosen)}, home=home).corpus_dir == chosen
