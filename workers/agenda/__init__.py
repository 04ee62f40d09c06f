"""The agenda service: events and reminders. Run: `celery -A workers.agenda worker`.

Importing the package builds nothing: the worker (its Celery app, stores and Slack client)
is in `workers.agenda.celery`, which Celery finds from `-A workers.agenda`.
"""
