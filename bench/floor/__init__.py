"""The ceilings psched is measured against: the least a Django or DRF endpoint costs on this
machine. Throwaway, outside psched's code; bench/run.py serves it with gunicorn exactly as
it serves psched, against the same database."""
