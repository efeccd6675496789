import io
import logging

from listonian_site.log_filters import RedactSecretsFilter

KEY = "0x" + "ab" * 32


def test_private_key_never_reaches_a_log_line(monkeypatch, caplog):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", KEY)
    logger = logging.getLogger("listonian.test")
    logger.addFilter(RedactSecretsFilter())
    try:
        with caplog.at_level(logging.INFO, logger="listonian.test"):
            logger.info("signing with %s and %s", KEY, KEY[2:])
    finally:
        logger.filters.clear()
    assert KEY[2:] not in caplog.text
    assert "[redacted]" in caplog.text


def _logged(caplog, log, *, secrets_filter: RedactSecretsFilter) -> str:
    """What a handler with the filter prints for the records ``log`` emits."""
    logger = logging.getLogger("listonian.test.redaction")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(secrets_filter)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return handler.stream.getvalue()


def test_an_upper_case_copy_is_redacted(monkeypatch, caplog):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", KEY)
    out = _logged(
        caplog,
        lambda log: log.warning("key %s / %s", KEY.upper(), KEY[2:].upper()),
        secrets_filter=RedactSecretsFilter(),
    )
    assert "AB" * 32 not in out
    assert out.count("[redacted]") == 2


def test_a_key_inside_a_traceback_is_redacted(monkeypatch, caplog):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", KEY)

    def log(logger):
        try:
            raise ValueError(f"bad key {KEY[2:].upper()} in config")
        except ValueError:
            logger.exception("could not sign")

    out = _logged(caplog, log, secrets_filter=RedactSecretsFilter())
    assert "Traceback" in out and "ValueError: bad key [redacted] in config" in out
    assert "ab" * 32 not in out.lower()


def test_a_key_in_an_argument_object_is_redacted(monkeypatch, caplog):
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY", KEY)
    out = _logged(
        caplog,
        lambda log: log.info("config: %r", {"key": KEY}),
        secrets_filter=RedactSecretsFilter(),
    )
    assert "ab" * 32 not in out and "[redacted]" in out


def test_the_key_file_is_read_once_at_start(monkeypatch, tmp_path, caplog):
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY_FILE", str(key_file))
    secrets_filter = RedactSecretsFilter()
    # Gone after start (a process that dropped its access): the filter still knows the key.
    key_file.unlink()
    out = _logged(caplog, lambda log: log.info("using %s", KEY), secrets_filter=secrets_filter)
    assert "ab" * 32 not in out and "[redacted]" in out


def test_an_unreadable_key_file_does_not_break_logging(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("LISTONIAN_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("LISTONIAN_PRIVATE_KEY_FILE", str(tmp_path / "missing"))
    out = _logged(caplog, lambda log: log.info("hello"), secrets_filter=RedactSecretsFilter())
    assert out == "INFO hello\n"
