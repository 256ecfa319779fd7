#!/usr/bin/env python3
"""Bullpen's own checks of deploy/: what a schema cannot see. Exits 1 naming every problem found."""
import configparser, glob, json, os, re, subprocess, sys
import yaml

root, bullpen = sys.argv[1], sys.argv[2]
problems = []
def problem(where, text): problems.append(f"{where}: {text}")

# What the processes serve, and the options each subcommand takes (from its --help).
SERVED = {"ingest": {"/healthz", "/readyz"}, "worker": {"/healthz", "/metrics"}}
def options(subcommand):
    out = subprocess.run([bullpen, *subcommand.split(), "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out))
known = {name: options(name) for name in ("ingest", "worker", "migrate", "topology apply")}
def check_args(where, args):
    if not args: return
    command = args[0]
    if command not in known:
        return problem(where, f"bullpen {command} is not a process Bullpen runs")
    for arg in args[1:]:
        if arg.startswith("--") and arg.split("=")[0] not in known[command]:
            problem(where, f"bullpen {command} has no option {arg}")
def shutdown_seconds(args):
    return int(args[args.index("--shutdown-seconds") + 1]) if "--shutdown-seconds" in args else 10

specs = [json.load(open(f)) for f in glob.glob(os.path.join(root, "Queues", "*.json"))]
queues = {spec["name"] for spec in specs}
def bands(mode):
    """Each work queue's broker queues: in quorum mode a queue with priorities has a `.high` band too."""
    return {spec["name"]: {spec["name"]} | ({spec["name"] + ".high"} if mode == "quorum" and spec.get("maxPriority") else set())
            for spec in specs}

# Kubernetes.
docs = []
for path in sorted(glob.glob(os.path.join(root, "deploy/kubernetes/*.yaml"))):
    for doc in yaml.safe_load_all(open(path)):
        if doc: docs.append((os.path.relpath(path, root), doc))
kinds = lambda kind: [(w, d) for w, d in docs if d["kind"] == kind]
deployments = {d["metadata"]["name"]: (w, d) for w, d in kinds("Deployment")}
for name, (where, d) in deployments.items():
    pod = d["spec"]["template"]["spec"]
    labels = d["spec"]["template"]["metadata"]["labels"]
    if any(labels.get(k) != v for k, v in d["spec"]["selector"]["matchLabels"].items()):
        problem(where, f"{name}: the selector does not match the pod's labels")
    for c in pod["containers"]:
        args = c.get("args", [])
        check_args(f"{where} {name}", args)
        process = args[0] if args else ""
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe in ("readinessProbe", "livenessProbe"):
            get = c.get(probe, {}).get("httpGet")
            if not get:
                problem(where, f"{name}: no {probe}")
                continue
            if get["path"] not in SERVED.get(process, set()):
                problem(where, f"{name}: {probe} asks {get['path']}, which bullpen {process} does not serve")
            if get["port"] not in ports:
                problem(where, f"{name}: {probe} names port {get['port']}, which the container does not expose")
        if process == "worker":
            if "--metrics-host" not in args or args[args.index("--metrics-host") + 1] != "0.0.0.0":
                problem(where, f"{name}: the probes cannot reach /healthz unless --metrics-host 0.0.0.0")
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if grace <= shutdown_seconds(args):
                problem(where, f"{name}: terminationGracePeriodSeconds {grace} does not outlast --shutdown-seconds {shutdown_seconds(args)}")
        if process == "ingest" and "--host" not in args:
            problem(where, f"{name}: ingest listens on 127.0.0.1 unless --host 0.0.0.0")
        refs = {r.get("configMapRef", r.get("secretRef", {})).get("name") for r in c.get("envFrom", [])}
        for needed in ("bullpen", "bullpen-secrets"):
            if needed not in refs: problem(where, f"{name}: the environment lacks {needed}")
        if not c.get("securityContext", {}).get("readOnlyRootFilesystem"):
            problem(where, f"{name}: the root filesystem is writable")
for where, pdb in kinds("PodDisruptionBudget"):
    selector = pdb["spec"]["selector"]["matchLabels"]
    if not any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
               for _, d in deployments.values()):
        problem(where, f"PodDisruptionBudget {pdb['metadata']['name']} selects no Deployment's pods")
for where, job in kinds("Job"):
    for c in job["spec"]["template"]["spec"]["containers"]:
        if "migrate" not in " ".join(c.get("command", []) + c.get("args", [])):
            problem(where, "the setup job does not migrate")
auths = {d["metadata"]["name"] for _, d in kinds("TriggerAuthentication")}
secret_keys = {k for _, d in kinds("Secret") for k in d.get("stringData", {})}
for where, auth in kinds("TriggerAuthentication"):
    for ref in auth["spec"].get("secretTargetRef", []):
        if ref["key"] not in secret_keys: problem(where, f"TriggerAuthentication reads {ref['key']}, which no Secret has")
# The mode the manifests run the topology in (the ConfigMap's BULLPEN_TOPOLOGY_MODE): what the workers consume.
mode = next((d.get("data", {}).get("BULLPEN_TOPOLOGY_MODE") for _, d in kinds("ConfigMap")
             if "BULLPEN_TOPOLOGY_MODE" in d.get("data", {})), "classic")
banded = bands(mode)
for where, so in kinds("ScaledObject"):
    if so["apiVersion"] != "keda.sh/v1alpha1": problem(where, "ScaledObject is not keda.sh/v1alpha1")
    target = so["spec"]["scaleTargetRef"]["name"]
    if target not in deployments: problem(where, f"ScaledObject scales {target}, which is no Deployment here")
    if so["spec"].get("minReplicaCount", 0) < 1: problem(where, "minReplicaCount below 1: the scheduled jobs need a worker")
    if so["spec"]["maxReplicaCount"] < so["spec"].get("minReplicaCount", 0): problem(where, "maxReplicaCount below minReplicaCount")
    seen = set()
    for t in so["spec"]["triggers"]:
        m = t["metadata"]
        if t["type"] != "rabbitmq": problem(where, f"a trigger of type {t['type']}")
        if t.get("authenticationRef", {}).get("name") not in auths: problem(where, "a trigger without its TriggerAuthentication")
        name = m.get("queueName", "")
        if not name.startswith("bullpen.") or name[len("bullpen."):] not in set().union(*banded.values()):
            problem(where, f"trigger on {name}: not a work queue of the {mode} topology (bullpen.<{', '.join(sorted(set().union(*banded.values())))}>)")
        seen.add(name[len("bullpen."):])
        if m.get("mode") != "QueueLength" or not str(m.get("value", "")).isdigit():
            problem(where, f"trigger on {name}: mode QueueLength with a whole value")
    consumed = set()
    for _, d in deployments.values():
        for c in d["spec"]["template"]["spec"]["containers"]:
            a = c.get("args", [])
            if "--queues" in a: consumed |= set(a[a.index("--queues") + 1].split(","))
    expected = set().union(*(banded.get(q, {q}) for q in consumed)) if consumed else set()
    if seen != expected:
        problem(where, f"the triggers watch {sorted(seen)} but the workers consume {sorted(expected)} ({mode} mode)")

# Compose.
compose_path = os.path.join(root, "deploy/compose/compose.yaml")
compose = yaml.safe_load(open(compose_path))
for name, service in compose["services"].items():
    where = f"deploy/compose/compose.yaml {name}"
    command = service.get("command")
    # The services' own images (PostgreSQL's settings are its command) are not Bullpen's processes.
    if str(service.get("image", "")).startswith(("postgres:", "rabbitmq:")): continue
    if isinstance(command, list): check_args(where, command)
    if command and command[0] == "worker":
        grace = int(str(service.get("stop_grace_period", "10s")).rstrip("s"))
        if grace <= shutdown_seconds(command): problem(where, "stop_grace_period does not outlast --shutdown-seconds")
for needed in ("rabbitmq", "postgres", "setup", "ingest", "worker"):
    if needed not in compose["services"]: problem("deploy/compose/compose.yaml", f"no {needed} service")

# systemd.
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "DynamicUser": "yes", "PrivateTmp": "yes"}
env_example = open(os.path.join(root, "deploy/systemd/bullpen.env.example")).read()
for path in sorted(glob.glob(os.path.join(root, "deploy/systemd/*.service"))):
    where = os.path.relpath(path, root)
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(path)
    service = unit["Service"]
    for key, value in HARDENING.items():
        if service.get(key) != value: problem(where, f"{key}={value} is missing")
    for key in ("MemoryMax", "TasksMax", "Restart", "TimeoutStopSec", "EnvironmentFile"):
        if key not in service: problem(where, f"no {key}")
    start = service["ExecStart"]
    words = re.findall(r"bullpen (\w+)((?: --[a-z-]+(?: (?!--)\S+)?)*)", start)
    for process, rest in words:
        check_args(where, [process] + re.findall(r"--[a-z-]+", rest))
        grace = int(service["TimeoutStopSec"])
        shutdown = int(re.search(r"--shutdown-seconds (\d+)", start).group(1)) if "--shutdown-seconds" in start else 10
        if grace <= shutdown: problem(where, "TimeoutStopSec does not outlast --shutdown-seconds")
    for variable in re.findall(r"\$\{?([A-Z_]+)\}?", start):
        if f"\n{variable}=" not in "\n" + env_example: problem(where, f"ExecStart uses ${variable}, which the environment example lacks")

# Prometheus rules: every bullpen_* series they read is one the workers export.
source = open(os.path.join(root, "Sources/BullpenMessaging/Metrics/WorkerMetrics.swift")).read()
exported = {"bullpen_" + "_".join(m) for m in re.findall(r'Self\.name\(\s*"(\w+)",\s*"(\w+)",\s*"(\w+)"', source)}
exported |= {f"{m}_{suffix}" for m in exported if m.endswith("_seconds") for suffix in ("bucket", "sum", "count")}
exported |= {"bullpen_messages_" + w + "_total" for w in re.findall(r'messages\("(\w+)"', source)}
rules = yaml.safe_load(open(os.path.join(root, "deploy/prometheus/alerts.yaml")))
for group in rules["groups"]:
    for rule in group["rules"]:
        for series in re.findall(r"\b(bullpen_[a-z_]+)", rule["expr"]):
            if series not in exported:
                problem("deploy/prometheus/alerts.yaml", f"{rule['alert']} reads {series}, which no worker exports")
        if "summary" not in rule.get("annotations", {}): problem("deploy/prometheus/alerts.yaml", f"{rule['alert']} has no summary")

for p in problems: print("[deploy-check]", p, file=sys.stderr)
if problems: sys.exit(1)
print(f"[ops] deploy/ holds: {len(docs)} Kubernetes resources, the compose file, "
      f"{len(glob.glob(os.path.join(root, 'deploy/systemd/*.service')))} systemd units", file=sys.stderr)
