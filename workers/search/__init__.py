"""The search service: a searchable memory of the team. Run: `celery -A workers.search worker`.

Importing the package builds nothing: the worker (its Celery app, stores and Slack client)
is in `workers.search.celery`, which Celery finds from `-A workers.search`.
"""
