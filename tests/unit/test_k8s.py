"""The Kubernetes manifests keep the promises of the Procfile and the compose file: every process
runs the same command, non-root and read-only, beat exactly once, and KEDA scales each worker
service on its own queues as routing.py names them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

import routing

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
KUBERNETES_VERSION = "1.30"
# Custom resources and kustomize files have no schema in kubernetes-validate: the tests below
# check their fields.
UNVALIDATED_GROUPS = ("keda.sh/", "kustomize.config.k8s.io/")
CONFIG_MAP = "estafeta-config"
SECRET = "estafeta-secrets"
IMAGE = "estafeta:latest"
SECRET_KEYS = {"DATABASE_URL", "BROKER_URL", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN",
               "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY", "SLACK_APP_TOKEN",
               "API_TOKENS"}

Doc = dict[str, Any]


def _load(path: Path) -> list[Doc]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert all(isinstance(doc, dict) for doc in docs), path
    return docs


def _documents(under: Path = K8S) -> list[tuple[Path, Doc]]:
    files = sorted([*under.rglob("*.yaml"), *under.rglob("*.yml")])
    assert files, under
    return [(path, doc) for path in files for doc in _load(path)]


def _doc_id(item: tuple[Path, Doc]) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def _is_kustomization(doc: Doc) -> bool:
    return str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


def _base() -> list[Doc]:
    return [doc for _, doc in _documents(BASE) if not _is_kustomization(doc)]


def _of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _secret() -> Doc:
    secrets = [doc for _, doc in _documents() if doc.get("kind") == "Secret"
               and doc["metadata"]["name"] == SECRET]
    assert len(secrets) == 1
    return secrets[0]


def _pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def _containers(workload: Doc) -> list[Doc]:
    spec = _pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _argv(container: Doc) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name.strip(): command.strip() for name, command in
            (line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))}


_SHELL_VARIABLE = re.compile(r"\$\{(\w+)(?::-[^}]*)?\}")
_KUBERNETES_VARIABLE = re.compile(r"\$\((\w+)\)")


_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def _as_kubernetes_argv(command: str) -> list[str]:
    """A Procfile line as Kubernetes runs it without a shell: `${X:-d}` becomes `$(X)`, and
    its leading `NAME=value` words go (the ConfigMap sets those variables)."""
    words = shlex.split(command)
    while words and _ASSIGNMENT.match(words[0]):
        words.pop(0)
    return [_SHELL_VARIABLE.sub(r"$(\1)", word) for word in words]


def _workload_running(argv: list[str], workloads: list[Doc]) -> Doc:
    running = [w for w in workloads if any(_argv(c) == argv for c in _pod_spec(w)["containers"])]
    assert len(running) == 1, f"{len(running)} workloads run {argv}"
    return running[0]


def _worker_deployment(service: routing.Service, deployments: dict[str, Doc]) -> Doc:
    procfile = _procfile()
    return _workload_running(_as_kubernetes_argv(procfile[f"worker-{service.name}"]),
                             list(deployments.values()))


def _service_of(deployment: Doc) -> routing.Service:
    """The worker service a Deployment runs, read from its `celery -A workers.<name>`."""
    argv = _argv(_pod_spec(deployment)["containers"][0])
    assert argv[:2] == ["celery", "-A"] and argv[3] == "worker", argv
    module = argv[2]
    assert module.startswith("workers."), argv
    return routing.SERVICES[module.removeprefix("workers.")]


def _selects(selector: Doc, workload: Doc) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    match = selector["matchLabels"]
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def _dockerfile_uid() -> int:
    """The uid of the Dockerfile's final `USER`, from the `useradd` that created it."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)[-1]
    for command in re.findall(r"useradd\s[^&;\n]*", text):
        words = shlex.split(command)
        if words[-1] == user and "--uid" in words:
            return int(words[words.index("--uid") + 1])
    raise AssertionError(f"no useradd of {user} with a --uid in the Dockerfile")


@pytest.mark.parametrize(
    "item",
    [i for i in _documents() if not str(i[1].get("apiVersion", "")).startswith(
        UNVALIDATED_GROUPS)],
    ids=_doc_id)
def test_every_kubernetes_document_is_valid_for_the_cluster_version(
        item: tuple[Path, Doc]) -> None:
    _, doc = item
    problem = None
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        problem = f"{'.'.join(map(str, exc.path))}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:
        problem = exc.message
    # Outside the handler: the schema's text would bury the one line that matters.
    assert problem is None, f"{_doc_id(item)}: {problem}"


def test_every_procfile_process_has_a_deployment_running_the_same_command() -> None:
    docs = _base()
    deployments = list(_of_kind(docs, "Deployment").values())
    config = _of_kind(docs, "ConfigMap")[CONFIG_MAP]["data"]
    procfile = _procfile()
    assert set(procfile) >= {"web", "beat", "socket", *(f"worker-{s}" for s in routing.SERVICES)}
    procfile.pop("release")  # the release phase is the migrate Job (the next test)
    for name, command in procfile.items():
        argv = _as_kubernetes_argv(command)
        deployment = _workload_running(argv, deployments)
        container = next(c for c in _pod_spec(deployment)["containers"] if _argv(c) == argv)
        # Kubernetes leaves `$(X)` as it is when X is not defined: every one must be.
        defined = set(config) | {e["name"] for e in container.get("env", [])}
        for word in argv:
            for variable in _KUBERNETES_VARIABLE.findall(word):
                assert variable in defined, (name, variable)


def test_the_migration_runs_as_a_one_off_job() -> None:
    jobs = list(_of_kind(_base(), "Job").values())
    job = _workload_running(_as_kubernetes_argv(_procfile()["release"]), jobs)
    assert _pod_spec(job)["restartPolicy"] in {"OnFailure", "Never"}


def test_beat_runs_exactly_once() -> None:
    docs = _base()
    deployments = _of_kind(docs, "Deployment")
    beat = _workload_running(_as_kubernetes_argv(_procfile()["beat"]), list(deployments.values()))
    assert beat["spec"]["replicas"] == 1
    # A rolling update would run the new beat next to the old one for a while.
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    name = beat["metadata"]["name"]
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in _of_kind(docs, "ScaledObject").values()}
    assert name not in scaled
    pdbs = _of_kind(docs, "PodDisruptionBudget").values()
    assert not any(_selects(p["spec"]["selector"], beat) for p in pdbs)


def test_one_socket_mode_process() -> None:
    socket = _workload_running(["estafeta", "socket"],
                               list(_of_kind(_base(), "Deployment").values()))
    assert socket["spec"]["replicas"] == 1


def test_each_worker_is_probed_and_scraped_on_its_metrics_port() -> None:
    deployments = _of_kind(_base(), "Deployment")
    config = _of_kind(_base(), "ConfigMap")["estafeta-config"]["data"]
    port = int(config["METRICS_PORT"])
    for service in routing.SERVICES.values():
        deployment = _worker_deployment(service, deployments)
        container = _pod_spec(deployment)["containers"][0]
        assert {"name": "metrics", "containerPort": port} in container["ports"]
        probe = container["livenessProbe"]
        assert probe["httpGet"] == {"path": "/healthz", "port": "metrics"}
        # Importing the app takes a moment; a busy pool must not look dead.
        assert probe["periodSeconds"] >= 30 and probe["initialDelaySeconds"] >= 30
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {"prometheus.io/scrape": "true",
                               "prometheus.io/port": str(port),
                               "prometheus.io/path": "/metrics"}


def test_the_gateway_is_probed_and_served_on_port_8000() -> None:
    docs = _base()
    gateway = _workload_running(_as_kubernetes_argv(_procfile()["web"]),
                                list(_of_kind(docs, "Deployment").values()))
    container = _pod_spec(gateway)["containers"][0]
    port = next(p for p in container["ports"] if p["containerPort"] == 8000)
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        http = container[probe]["httpGet"]
        assert http["path"] == path and http["port"] in {8000, port["name"]}, probe
    services = [s for s in _of_kind(docs, "Service").values()
                if _selects({"matchLabels": s["spec"]["selector"]}, gateway)]
    assert len(services) == 1
    assert {p["targetPort"] for p in services[0]["spec"]["ports"]} <= {8000, port["name"]}


def test_every_container_runs_non_root_read_only_with_the_shared_settings() -> None:
    uid = _dockerfile_uid()
    assert uid != 0
    workloads = [d for d in _base() if d["kind"] in {"Deployment", "Job"}]
    assert workloads
    for workload in workloads:
        pod = _pod_spec(workload)
        assert pod.get("automountServiceAccountToken") is False, workload["metadata"]["name"]
        pod_context = pod.get("securityContext", {})
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in _containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            context = {**pod_context, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, where
            assert context.get("runAsUser") == uid, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("capabilities", {}).get("drop") == ["ALL"], where
            assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            assert not context.get("privileged"), where
            # A read-only root still needs a writable /tmp (DATA_DIR, gunicorn's heartbeats).
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and tmp[0]["name"] in empty_dirs, where
            assert container["image"] == IMAGE, where
            sources = container["envFrom"]
            assert {"configMapRef": {"name": CONFIG_MAP}} in sources, where
            assert {"secretRef": {"name": SECRET}} in sources, where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (where, bound)


def test_settings_and_secrets_are_kept_apart() -> None:
    config = _of_kind(_base(), "ConfigMap")[CONFIG_MAP]["data"]
    assert config["DATA_DIR"].startswith("/tmp/")
    assert {"LOG_LEVEL", "WORKER_CONCURRENCY", "SLACK_API_URL"} <= set(config)
    secret = _secret()
    values = secret["stringData"]
    assert set(values) == SECRET_KEYS
    assert not set(config) & set(values)
    # An example: placeholders only.
    assert all(value == "" for value in values.values())


def test_gateway_and_each_worker_have_a_disruption_budget() -> None:
    docs = _base()
    deployments = _of_kind(docs, "Deployment")
    pdbs = list(_of_kind(docs, "PodDisruptionBudget").values())
    gateway = _workload_running(_as_kubernetes_argv(_procfile()["web"]),
                                list(deployments.values()))
    workers = [_worker_deployment(s, deployments) for s in routing.SERVICES.values()]
    for deployment in [gateway, *workers]:
        budgets = [p for p in pdbs if _selects(p["spec"]["selector"], deployment)]
        assert len(budgets) == 1, deployment["metadata"]["name"]
        spec = budgets[0]["spec"]
        assert spec.get("minAvailable") == 1 or spec.get("maxUnavailable") == 1
        if spec.get("minAvailable") is not None:
            # A budget of one available pod would block every drain of a single pod.
            assert deployment["spec"].get("replicas", 1) >= 2, deployment["metadata"]["name"]


def test_each_worker_service_scales_on_its_own_queues() -> None:
    docs = _base()
    deployments = _of_kind(docs, "Deployment")
    scaled_objects = list(_of_kind(docs, "ScaledObject").values())
    authentications = _of_kind(docs, "TriggerAuthentication")
    secret_keys = set(_secret()["stringData"])
    scaled_services = []
    for scaled in scaled_objects:
        assert scaled["apiVersion"] == "keda.sh/v1alpha1"
        spec = scaled["spec"]
        target = spec["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment"
        deployment = deployments[target["name"]]
        service = _service_of(deployment)
        scaled_services.append(service.name)
        # KEDA owns the count: a replicas field would reset it at every apply.
        assert "replicas" not in deployment["spec"], target["name"]
        assert spec["minReplicaCount"] >= 1, service.name  # no cold start for a command
        assert spec["maxReplicaCount"] > spec["minReplicaCount"], service.name
        triggers = spec["triggers"]
        assert all(t["type"] == "rabbitmq" for t in triggers), service.name
        queues = [t["metadata"]["queueName"] for t in triggers]
        assert service.command_queue.name in queues, service.name
        assert sorted(queues) == sorted(q.name for q in service.consumed_queues), service.name
        for trigger in triggers:
            metadata = trigger["metadata"]
            assert metadata["mode"] == "QueueLength"
            assert isinstance(metadata["value"], str) and int(metadata["value"]) > 0
            assert "host" not in metadata  # credentials come from the Secret only
            authentication = authentications[trigger["authenticationRef"]["name"]]
            refs = {(r["parameter"], r["name"], r["key"])
                    for r in authentication["spec"]["secretTargetRef"]}
            assert ("host", SECRET, "BROKER_URL") in refs
        assert {key for _, name, key in refs if name == SECRET} <= secret_keys
    assert sorted(scaled_services) == sorted(routing.SERVICES)


def test_agenda_keeps_warm_workers_for_reminders() -> None:
    docs = _base()
    deployments = _of_kind(docs, "Deployment")
    agenda = _worker_deployment(routing.AGENDA, deployments)
    scaled = [s for s in _of_kind(docs, "ScaledObject").values()
              if s["spec"]["scaleTargetRef"]["name"] == agenda["metadata"]["name"]]
    assert len(scaled) == 1
    # Reminders must wait neither for a cold start nor for the only pod's restart.
    assert scaled[0]["spec"]["minReplicaCount"] >= 2


def _kustomizations() -> list[Path]:
    found = sorted(K8S.rglob("kustomization.yaml"))
    assert BASE / "kustomization.yaml" in found
    return found


@pytest.mark.parametrize("path", _kustomizations(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_kustomization_lists_exactly_the_files_beside_it(path: Path) -> None:
    (kustomization,) = _load(path)
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    for entry in listed:
        target = (path.parent / entry).resolve()
        assert target.is_file() or (target / "kustomization.yaml").is_file(), entry
    files = {p.name for p in path.parent.iterdir()
             if p.suffix in {".yaml", ".yml"} and p.name != path.name}
    assert files == {entry for entry in listed if (path.parent / entry).is_file()}


def test_the_example_secret_is_never_applied_over_real_credentials() -> None:
    for path in _kustomizations():
        (kustomization,) = _load(path)
        for entry in kustomization["resources"]:
            target = path.parent / entry
            if target.is_file():
                assert not any(doc.get("kind") == "Secret" for doc in _load(target)), target


def test_the_example_overlay_pins_the_image_in_its_namespace() -> None:
    (overlay,) = _load(K8S / "overlays" / "example" / "kustomization.yaml")
    assert overlay["namespace"] == "estafeta"
    assert "../../base" in overlay["resources"]
    (image,) = [i for i in overlay["images"] if i["name"] == IMAGE.split(":")[0]]
    assert image["newTag"] not in {"", "latest"}
    deployments = _of_kind(_base(), "Deployment")
    for replicas in overlay.get("replicas", []):
        assert replicas["name"] in deployments
        # Counts of KEDA's targets are KEDA's; beat stays at one.
        assert "replicas" in deployments[replicas["name"]]["spec"]
        assert deployments[replicas["name"]]["spec"]["strategy"]["type"] != "Recreate"
    assert overlay.get("patches")
