"""The project's Celery app on a filesystem broker, with one task that logs the key.

Started as a real worker by tests/test_celery_logging.py: the broker lives in
the folder named by ``LISTONIAN_TEST_BROKER_DIR``, so no Redis is needed.
"""

from __future__ import annotations

import logging
import os

from celery.utils.log import get_task_logger

from listonian_site.celery import app

_folder = os.environ["LISTONIAN_TEST_BROKER_DIR"]
app.conf.broker_url = "filesystem://"
app.conf.broker_transport_options = {
    "data_folder_in": _folder,
    "data_folder_out": _folder,
    "processed_folder": _folder,
}
app.conf.task_always_eager = False


@app.task(name="tests.log_the_key")
def log_the_key() -> None:
    key = os.environ["LISTONIAN_PRIVATE_KEY"]
    logging.getLogger("trading.tasks").warning("signing with %s", key)
    get_task_logger(__name__).warning("task logger: %s", key.upper())
    logging.getLogger("trading.tasks").info("without prefix: %s", key.removeprefix("0x"))
