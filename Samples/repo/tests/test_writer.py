from manifests.writer import ManifestWriter


class FakePool:
    def __init__(self):
        self.rows = []


def test_retry_limit_is_respected():
    writer = ManifestWriter(FakePool(), retry_limit=3)
    assert writer.retry_limit == 3
