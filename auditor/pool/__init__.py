"""The worker processes of a run: started from one fork server, watched by a supervisor.

``processes``: how a worker starts (the fork server, its memory cap, its CPU);
``supervisor``: chunks of files handed to workers, each file under a time
limit. Reading uses both (read/batch.py), the reports the first.
"""
