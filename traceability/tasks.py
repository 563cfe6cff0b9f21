"""Background jobs (django-tasks). With the default immediate backend a job runs as soon as it is
enqueued; with ``TASKS_BACKEND=database`` it is queued and ``python manage.py db_worker`` runs it."""

from django_tasks import task

from traceability.services.reports import trace_report_generate


@task()
def trace_report_generate_task(report_id: int) -> None:
    """Render and store a pending trace report (failures are recorded on the report)."""
    trace_report_generate(report_id=report_id)
