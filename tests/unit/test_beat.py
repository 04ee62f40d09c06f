import routing
from workers.beat import app


def test_beat_sends_each_services_maintenance_to_its_own_queue_at_bulk_priority() -> None:
    schedule = app.conf.beat_schedule
    tasks = {entry["task"] for entry in schedule.values()}
    assert tasks == {s.maintenance_task for s in routing.SERVICES.values()}
    for entry in schedule.values():
        assert entry["options"]["priority"] == routing.Priority.BULK
        route = app.amqp.router.route({}, entry["task"])
        service = routing.SERVICES[entry["task"].split(".")[0]]
        assert route["queue"].name == service.command_queue.name
