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
