"""Loaded (as sitecustomize) by the Python processes of a Metaflow run in
TestMetaflowTasksRunInTheirImages, on the client only: the kubernetes
client is Metaflow's real one, building its real V1Job, but the job is
handed to the test instead of a cluster.

KubernetesJob.execute writes the job Metaflow built, as the API would
receive it (ApiClient.sanitize_for_serialization), to
$ENVBUILD_K8S_SPOOL/<n>.json and waits for the test to write <n>.rc (the
exit code of the pod's container, which the test ran in the step's image).
Nothing else of Metaflow is changed; no cluster and no kubeconfig are
needed.
"""

import json
import os
import time

_SPOOL = os.environ.get("ENVBUILD_K8S_SPOOL")


class _FinishedJob(object):
    """What Kubernetes.wait asks of a running job, for a pod that ran."""

    def __init__(self, name, rc):
        self.id = name
        self._rc = rc
        self.status = "Succeeded" if rc == 0 else "Failed"
        self.is_waiting = False
        self.is_running = False
        self.is_done = True
        self.has_succeeded = rc == 0
        self.has_failed = rc != 0
        self.reason = (rc, None if rc == 0 else "the container exited with %d" % rc)

    def kill(self):
        pass


def _install():
    from metaflow.plugins.kubernetes import kubernetes_client, kubernetes_job

    def refresh(self):
        from kubernetes import client

        self._client = client
        self._client_refresh_timestamp = time.time()

    def execute(self):
        from kubernetes import client

        body = client.ApiClient().sanitize_for_serialization(self._job)
        n = "%d-%d" % (int(time.time() * 1000), os.getpid())
        tmp = os.path.join(_SPOOL, n + ".tmp")
        with open(tmp, "w") as f:
            json.dump(body, f)
        os.rename(tmp, os.path.join(_SPOOL, n + ".json"))
        rc_path = os.path.join(_SPOOL, n + ".rc")
        while not os.path.exists(rc_path):
            time.sleep(0.2)
        with open(rc_path) as f:
            rc = int(f.read().strip())
        return _FinishedJob(body["metadata"].get("generate_name", "job") + n, rc)

    kubernetes_client.KubernetesClient._refresh_client = refresh
    kubernetes_job.KubernetesJob.execute = execute


if _SPOOL:
    _install()
