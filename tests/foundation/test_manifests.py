"""The kustomize base and the Helm chart, rendered and checked against the Kubernetes schemas.

`kubectl kustomize` renders the base where kubectl is installed (the files
as they are, namespaced, elsewhere); `helm template` renders the chart
where helm is, and tests/foundation/helm_render.py elsewhere.
kubernetes-validate checks every object, unknown fields included, against
the oldest and the newest Kubernetes the deployment supports.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.foundation.helm_render import Renderer, TemplateError, render_chart

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
CHART = ROOT / "helm" / "spot"
# The oldest Kubernetes the manifests support (deploy/README.md), and the newest the schemas know.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
WORKERS = ("accounts", "matching")

Doc = dict[str, Any]


def kustomize_base() -> list[Doc]:
    if shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "kustomize", str(BASE)], check=True, capture_output=True, text=True, timeout=120
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert set(kustomization) <= {"apiVersion", "kind", "namespace", "resources", "images"}, (
        "the base uses more of kustomize than this stand-in renders: install kubectl"
    )
    docs = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((BASE / name).read_text()):
            if doc:
                doc["metadata"]["namespace"] = kustomization["namespace"]
                docs.append(doc)
    return docs


def helm_chart(**overrides: Any) -> list[Doc]:
    if shutil.which("helm") and not overrides:
        out = subprocess.run(
            ["helm", "template", "spot", str(CHART)], check=True, capture_output=True, text=True, timeout=120
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]
    return [doc for docs in render_chart(CHART, **overrides).values() for doc in docs]


RENDERS = {"kustomize": kustomize_base, "helm": helm_chart}


@pytest.fixture(params=sorted(RENDERS), scope="module")
def rendered(request: pytest.FixtureRequest) -> list[Doc]:
    return RENDERS[request.param]()


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def runs_spot(doc: Doc) -> bool:
    """A Deployment or Job of Spot's own image (not, say, an exporter beside it)."""
    if doc["kind"] not in ("Deployment", "Job"):
        return False
    image = doc["spec"]["template"]["spec"]["containers"][0]["image"]
    return image.rsplit(":", 1)[0] in ("spot", "spot-backend")


def pod_specs(docs: list[Doc]) -> list[tuple[str, Doc]]:
    return [(doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in docs if runs_spot(doc)]


def worker_deployments(docs: list[Doc]) -> list[Doc]:
    return [
        doc
        for doc in of_kind(docs, "Deployment")
        if doc["spec"]["selector"]["matchLabels"].get("component") in WORKERS
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(rendered, version):
    for doc in rendered:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schemas_catch_a_misspelt_field():
    budget = of_kind(kustomize_base(), "PodDisruptionBudget")[0]
    budget["spec"]["maxUnavailabel"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(budget, VERSIONS[0], strict=True)


def test_api_and_web_autoscale_on_cpu_and_leave_the_replica_count_to_it(rendered):
    deployments = {doc["metadata"]["name"]: doc for doc in of_kind(rendered, "Deployment")}
    scaled = set()
    for hpa in of_kind(rendered, "HorizontalPodAutoscaler"):
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]["spec"]
        scaled.add(target["selector"]["matchLabels"]["component"])
        assert "replicas" not in target
        assert target["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
        assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]
        assert hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert scaled == {"api", "web"}


def test_every_worker_shard_has_a_disruption_budget_and_lease_aware_probes(rendered):
    budgets = [
        budget["spec"]["selector"]["matchLabels"] for budget in of_kind(rendered, "PodDisruptionBudget")
    ]
    workers = worker_deployments(rendered)
    assert len(workers) == 5
    for deployment in workers:
        assert deployment["spec"]["selector"]["matchLabels"] in budgets
        assert deployment["spec"]["replicas"] >= 2
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        port = int(container["command"][container["command"].index("--metrics-port") + 1])
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/alive", "port": port}
        # SIGTERM drains (commit, ack, release the lease) within the grace period.
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30
    for budget in of_kind(rendered, "PodDisruptionBudget"):
        assert budget["spec"]["maxUnavailable"] == 1


def test_api_and_web_leave_the_service_before_sigterm(rendered):
    for doc in of_kind(rendered, "Deployment"):
        if doc["spec"]["selector"]["matchLabels"]["component"] in ("api", "web"):
            container = doc["spec"]["template"]["spec"]["containers"][0]
            assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


def test_every_pod_runs_as_the_images_non_root_user_on_a_read_only_root(rendered):
    uid = int(re.search(r"^USER (\d+)", (ROOT / "deploy" / "Dockerfile").read_text(), re.M).group(1))  # type: ignore[union-attr]
    specs = pod_specs(rendered)
    assert len(specs) == 9  # web, api, 5 worker shards, invariants, migrate
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == uid != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"], name
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108  (the pod's own emptyDir) in container["volumeMounts"], name


def test_the_kustomize_base_migrates_before_new_pods_start():
    docs = kustomize_base()
    (job,) = of_kind(docs, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][:3] == [
        "python",
        "manage.py",
        "migrate",
    ]
    for deployment in filter(runs_spot, of_kind(docs, "Deployment")):
        (wait,) = deployment["spec"]["template"]["spec"]["initContainers"]
        assert "manage.py migrate --check" in wait["command"][-1]


def test_the_helm_chart_migrates_in_a_hook_before_the_release_changes():
    (job,) = of_kind(helm_chart(), "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][:3] == [
        "python",
        "manage.py",
        "migrate",
    ]
    # The hook runs before the release's ConfigMap exists: it must not need it.
    assert "configMapRef" not in str(job)


def test_only_spots_pods_reach_redis_and_the_database(rendered):
    (policy,) = of_kind(rendered, "NetworkPolicy")
    (expression,) = policy["spec"]["podSelector"]["matchExpressions"]
    assert {"redis", "mysql"} <= set(expression["values"])
    clients, peers = policy["spec"]["ingress"]
    assert clients["from"] == [{"podSelector": {"matchLabels": {"app": "spot"}}}]
    assert {port["port"] for port in clients["ports"]} == {6379, 3306}
    assert peers["from"][0]["podSelector"]["matchExpressions"] == [expression]
    for doc in filter(runs_spot, rendered):
        assert doc["spec"]["template"]["metadata"]["labels"]["app"] == "spot"


def test_a_second_accounts_shard_in_the_values_brings_its_deployment_and_budget():
    docs = helm_chart(accountShards=2)
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    assert {("Deployment", "spot-accounts-1"), ("PodDisruptionBudget", "spot-accounts-1")} <= names
    for doc in docs:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)


def test_the_chart_renderer_refuses_what_it_does_not_know():
    renderer = Renderer({"a.yaml": "x: {{ .Values.missing }}", "b.yaml": "{{ tpl .Values.x . }}"})
    with pytest.raises(TemplateError, match="no value"):
        renderer.render("a.yaml", {"Values": {}})
    with pytest.raises(TemplateError, match="not a function"):
        renderer.render("b.yaml", {"Values": {"x": "y"}})
