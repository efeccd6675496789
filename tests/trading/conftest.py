from tests.execution.conftest import arb  # noqa: F401 - the shared arbitrage set-up
