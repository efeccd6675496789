import pytest

from listonian_site.env import (
    ConfigurationError,
    envbool,
    envint,
    envlist,
    envsecret,
    persistent_secret,
)


def test_envbool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert envbool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "off")
    assert envbool("X_FLAG", True) is False
    monkeypatch.delenv("X_FLAG")
    assert envbool("X_FLAG", True) is True


def test_envbool_rejects_nonsense_naming_the_variable(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigurationError, match="X_FLAG"):
        envbool("X_FLAG")


def test_envint_and_envlist(monkeypatch):
    monkeypatch.setenv("X_NUM", "42")
    assert envint("X_NUM", 1) == 42
    monkeypatch.setenv("X_NUM", "4.2")
    with pytest.raises(ConfigurationError, match="X_NUM"):
        envint("X_NUM", 1)
    monkeypatch.setenv("X_LIST", " http://a , ,http://b ")
    assert envlist("X_LIST") == ["http://a", "http://b"]
    assert envlist("X_MISSING", ["d"]) == ["d"]


def test_envsecret_prefers_value_then_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert envsecret("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET", "from-env")
    assert envsecret("X_SECRET") == "from-env"


def test_envsecret_unreadable_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="X_SECRET_FILE"):
        envsecret("X_SECRET")


def test_persistent_secret_is_generated_once_and_private(tmp_path):
    path = tmp_path / ".secret_key"
    first = persistent_secret(path)
    assert len(first) >= 50
    assert persistent_secret(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
