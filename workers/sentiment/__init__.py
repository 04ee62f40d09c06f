"""The sentiment service: the mood of each channel. Run: `celery -A workers.sentiment worker`.

Importing the package builds nothing: the worker (its Celery app, stores and Slack client)
is in `workers.sentiment.celery`, which Celery finds from `-A workers.sentiment`.
"""
