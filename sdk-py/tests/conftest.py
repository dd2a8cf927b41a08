import pytest

from stagehand_plugin import testing


@pytest.fixture(autouse=True)
def clean_host():
    """Every test starts from a clean fake host."""
    testing.reset()
    yield
