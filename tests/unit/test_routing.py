import routing


def test_every_consumed_queue_has_priorities_and_dead_letters() -> None:
    for service in routing.SERVICES.values():
        for queue in service.consumed_queues:
            args = queue.queue_arguments
            assert args["x-max-priority"] == routing.MAX_PRIORITY
            assert args["x-queue-version"] == 2
            assert args["x-dead-letter-exchange"] == routing.DEAD.name
            assert args["x-dead-letter-routing-key"] == service.dead_routing_key
            assert queue.durable


def test_priorities_order_interactive_above_event_above_bulk() -> None:
    p = routing.Priority
    assert p.BULK < p.EVENT < p.INTERACTIVE < p.REMINDER <= routing.MAX_PRIORITY


def test_only_search_and_sentiment_hear_the_stream() -> None:
    hearing = {s.name for s in routing.SERVICES.values() if s.heard_queue is not None}
    assert hearing == {"search", "sentiment"}


def test_heard_routing_key_is_safe_for_topic_matching() -> None:
    assert routing.heard_routing_key("T1", "C2") == "slack.message.T1.C2"
    # A dot or wildcard in an id must not create extra topic words.
    assert routing.heard_routing_key("T.1", "C#*") == "slack.message.T_1.C__"


def test_task_routes_send_each_service_task_to_its_own_queue() -> None:
    from celery import Celery

    router = Celery(set_as_current=False)
    router.conf.task_routes = routing.task_routes()
    router.conf.task_queues = routing.all_queues()
    for service in routing.SERVICES.values():
        for task in (service.command_task, service.maintenance_task, f"{service.name}.other"):
            route = router.amqp.router.route({}, task)
            assert route["queue"].name == service.command_queue.name
            assert route["routing_key"] == service.routing_key


def test_queue_names_are_unique_and_map_back_to_their_service() -> None:
    names = [q.name for q in routing.all_queues()]
    assert len(names) == len(set(names))
    for service in routing.SERVICES.values():
        for queue in service.all_queues:
            assert routing.service_of_queue(queue.name) is service


def test_result_cleanup_is_routed_to_one_services_command_queue() -> None:
    from celery import Celery

    # Without this route the cleanup could not be sent at all: queues are never created on
    # demand, and no `<service>.*` pattern matches `celery.backend_cleanup`.
    router = Celery(set_as_current=False)
    router.conf.task_routes = routing.task_routes()
    router.conf.task_queues = routing.all_queues()
    router.conf.task_create_missing_queues = False
    route = router.amqp.router.route({}, routing.BACKEND_CLEANUP_TASK)
    service = routing.RESULT_CLEANUP_SERVICE
    assert route["queue"].name == service.command_queue.name
    assert route["routing_key"] == service.routing_key
    assert route["exchange"] == routing.COMMANDS.name


def test_a_worker_routes_to_every_service_but_consumes_only_its_own_queues() -> None:
    from estafeta.settings import Settings
    from workers.app import create_worker_app

    for service in routing.SERVICES.values():
        app = create_worker_app(service, Settings())
        assert sorted(app.amqp.queues.consume_from) == sorted(
            q.name for q in service.consumed_queues)
        for other in routing.SERVICES.values():
            route = app.amqp.router.route({}, other.home_task)
            assert route["queue"].name == other.command_queue.name
            assert route["queue"].queue_arguments == other.command_queue.queue_arguments
