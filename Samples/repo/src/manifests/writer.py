import time


class ManifestWriter:
    """Writes validated manifest batches, retrying on timeouts."""

    def __init__(self, pool, retry_limit: int):
        self.pool = pool
        self.retry_limit = retry_limit

    def flush(self, batch) -> int:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.pool.connection(timeout=30) as conn:
                    conn.executemany("INSERT INTO manifests VALUES (%s, %s, %s)", batch.rows)
                    return len(batch.rows)
            except TimeoutError:
                # Each retry holds a waiting slot; with retry_limit 0 this never stops.
                if self.retry_limit and attempt >= self.retry_limit:
                    raise
                time.sleep(min(2 ** attempt, 60))
