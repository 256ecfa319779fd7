#!/usr/bin/env python3
"""The namespace cluster's fault tests (ops/test --cluster runs them on `ops/cluster up`): commands flow through
the ingests while a broker node, a worker's link or an ingest (behind HAProxy, then under the CLI's list) fails;
every 2xx must be applied exactly once.
Prints each scenario's figures and exits 1 if one fails."""
import json, os, subprocess, sys, threading, time, urllib.error, urllib.request

root, bullpen, token = sys.argv[1], sys.argv[2], sys.argv[3]
data = os.environ.get("BULLPEN_DATA", root + "/.data")
failures = []

def post(url, name):
    request = urllib.request.Request(
        url + "/v1/clients", method="POST",
        data=json.dumps({"name": name, "email": f"{name}@cluster.test"}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json", "Idempotency-Key": name})
    started = time.time()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except Exception:
        status = 0
    return status, time.time() - started

def psql(sql):
    return subprocess.run(
        ["psql", "postgresql://bullpen:bullpen@198.18.0.21,198.18.0.22/bullpen?target_session_attrs=read-write"
         "&connect_timeout=5", "-qAt", "-c", sql],
        env=os.environ, capture_output=True, text=True, check=True, timeout=30).stdout.strip()

def applied(prefix):
    try: answer = psql(f"SELECT count(*), count(DISTINCT name) FROM clients WHERE name LIKE '{prefix}-%'")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired): return 0, 0  # no primary yet (a fail-over)
    count, distinct = answer.split("|")
    return int(count), int(distinct)

def flow(prefix, urls, count, rate, fault_at, fault, heal_after=None, heal=None):
    """Sends `count` commands at `rate`/s, round-robin over `urls`, running `fault` at `fault_at` s."""
    results = []
    def faults():
        time.sleep(fault_at); fault()
        if heal: time.sleep(heal_after); heal()
    thread = threading.Thread(target=faults); thread.start()
    start = time.time()
    for i in range(count):
        status, seconds = post(urls[i % len(urls)], f"{prefix}-{i}")
        results.append((round(time.time() - start, 2), status, seconds))
        time.sleep(max(0, start + (i + 1) / rate - time.time()))
    thread.join()
    return results

def settle(prefix, accepted, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        count, distinct = applied(prefix)
        if distinct >= accepted: return count, distinct, time.time()
        time.sleep(0.5)
    count, distinct = applied(prefix)
    return count, distinct, None

def check(name, results, prefix, timeout=120):
    accepted = sum(1 for _, status, _ in results if 200 <= status < 300)
    refused = len(results) - accepted
    done = time.time()
    count, distinct, at = settle(prefix, accepted, timeout)
    slowest = max(seconds for _, _, seconds in results)
    line = (f"{name}: {len(results)} sent, {accepted} answered 2xx, {refused} not; {distinct} applied "
            f"({count} rows); slowest answer {slowest:.2f} s; all applied {((at or done) - done):.1f} s after the last send")
    print("[cluster-test]", line, file=sys.stderr)
    for at, status, seconds in results:
        if not 200 <= status < 300:
            print(f"[cluster-test]   at {at} s: {status or 'no answer'} after {seconds:.2f} s", file=sys.stderr)
    if count != distinct: failures.append(f"{name}: a command applied twice")
    if distinct < accepted: failures.append(f"{name}: {accepted - distinct} answered 2xx but never applied")
    return accepted, refused

ingests = ["http://198.18.0.31:8080", "http://198.18.0.32:8080"]
rabbitmq = "/usr/lib/rabbitmq/bin/rabbitmqctl"
def rabbit(n, *arguments):
    environment = dict(os.environ, HOME=f"{data}/cluster/rabbit{n}")
    subprocess.run(["ip", "netns", "exec", f"bpc-rabbit{n}", rabbitmq, "-n", f"rabbit@r{n}", *arguments],
                   env=environment, capture_output=True)
run = str(int(time.time()))
# BULLPEN_CLUSTER_SCENARIOS=3,4 runs only those (by number below); all by default.
chosen = os.environ.get("BULLPEN_CLUSTER_SCENARIOS", "1,2,3,4,5,6,7,8").split(",")
# The lossy links (7, 8) run this many times each: what they once broke showed in half the runs.
rounds = int(os.environ.get("BULLPEN_CLUSTER_ROUNDS", "1"))

def leader_stop():
    """1. The queues' leader node stops for 10 s while commands flow through both ingests."""
    results = flow(f"leader{run}", ingests, 200, 10, 3, lambda: rabbit(1, "stop_app"), 10, lambda: rabbit(1, "start_app"))
    accepted, refused = check("broker node r1 (the queues' leader) stopped for 10 s", results, f"leader{run}")
    if refused: failures.append(f"leader stop: {refused} requests refused (quorum queues should take them)")

def link_cut():
    """2. A worker's host is cut off the network for 15 s (its veth on the bridge down), then comes back.
    ops/cluster names the bridge's end of each namespace's link after it: bp-worker1 for bpc-worker1."""
    link = "bp-worker1"
    results = flow(f"link{run}", ingests, 200, 10, 3, lambda: subprocess.run(["ip", "link", "set", link, "down"]), 15,
                   lambda: subprocess.run(["ip", "link", "set", link, "up"]))
    check("worker1's link cut for 15 s", results, f"link{run}")

def kill_ingest(n):
    with open(f"{data}/cluster/ingest{n}.pid") as f: pid = int(f.read())
    try: os.killpg(pid, 9)
    except ProcessLookupError: pass

def ingest_state(name):
    with urllib.request.urlopen("http://198.18.0.30:8404/stats;csv", timeout=2) as answer:
        for line in answer.read().decode().splitlines():
            fields = line.split(",")
            if fields[:2] == ["ingests", name]: return fields[17]

def balancer_kill():
    """3. An ingest behind the load balancer is killed while commands flow through the balancer's one address (as
    the agents', the gateway's and Stripe's webhooks do), then started again (`ops/cluster restart`, as systemd
    would). HAProxy's view of it is polled every 0.1 s until it is back up."""
    transitions = []  # (seconds after the kill, HAProxy's state of ingest2)
    def watch(killed_at):
        last = None
        while time.time() < killed_at + 60:
            try: state = ingest_state("ingest2")
            except Exception: state = None
            if state != last: transitions.append((round(time.time() - killed_at, 1), state)); last = state
            if state == "UP" and len(transitions) > 1: return
            time.sleep(0.1)
    watchers = []
    def kill():
        kill_ingest(2)
        watchers.append(threading.Thread(target=watch, args=(time.time(),))); watchers[-1].start()
    restart = lambda: subprocess.run([root + "/ops/cluster", "restart", "ingest2"], capture_output=True)
    results = flow(f"lb{run}", ["http://198.18.0.30:8080"], 200, 10, 3, kill, 8, restart)
    for watcher in watchers: watcher.join()
    accepted, refused = check("ingest2 killed behind HAProxy, restarted 8 s later", results, f"lb{run}")
    print(f"[cluster-test]   HAProxy's view of ingest2 (s after the kill): {transitions}", file=sys.stderr)
    if refused: failures.append(f"ingest kill behind HAProxy: {refused} requests not answered 2xx (HAProxy should retry)")
    if not transitions or transitions[-1][1] != "UP": failures.append("ingest kill behind HAProxy: ingest2 not back UP")

def cli_kill():
    """4. An ingest is killed while the CLI, given both, keeps sending; it is started again after."""
    times, statuses = [], []
    environment = dict(os.environ, BULLPEN_URL=",".join(ingests), BULLPEN_TOKEN=token, BULLPEN_CONFIG="/nonexistent")
    killer = threading.Timer(2, kill_ingest, args=(1,)); killer.start()
    for i in range(100):
        started = time.time()
        done = subprocess.run([bullpen, "client", "create", "--name", f"ingest{run}-{i}", "--email",
                               f"ingest{run}-{i}@cluster.test"], env=environment, capture_output=True)
        times.append(time.time() - started); statuses.append(done.returncode)
    killer.join()
    accepted = statuses.count(0)
    count, distinct, _ = settle(f"ingest{run}", accepted, 60)
    print(f"[cluster-test] ingest1 killed under the CLI: {len(statuses)} runs, {accepted} accepted, {distinct} applied "
          f"({count} rows); slowest run {max(times):.2f} s", file=sys.stderr)
    if accepted != len(statuses): failures.append(f"ingest kill: {len(statuses) - accepted} CLI runs failed")
    if count != distinct or distinct < accepted: failures.append("ingest kill: applied twice or not at all")
    subprocess.run([root + "/ops/cluster", "restart", "ingest1"], capture_output=True)

def database_failover():
    """5. PostgreSQL's primary host dies (every process in its namespace killed) while commands flow through the
    balancer; 3 s later the standby is promoted (`ops/cluster failover`, what Patroni or an operator does).
    Synchronous replication: what a worker acknowledged was on both servers."""
    def kill_primary():
        primary = psql("SELECT inet_server_addr()").split("/")[0]
        namespace = {"198.18.0.21": "bpc-pg1", "198.18.0.22": "bpc-pg2"}[primary]
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        for pid in pids:
            try: os.kill(int(pid), 9)
            except ProcessLookupError: pass
        print(f"[cluster-test]   killed {namespace}'s {len(pids)} processes (the primary)", file=sys.stderr)
    def promote():
        done = subprocess.run([root + "/ops/cluster", "failover"], capture_output=True, text=True)
        print("[cluster-test]  ", " / ".join(l.removeprefix("[ops] ") for l in done.stderr.splitlines()), file=sys.stderr)
    results = flow(f"pg{run}", ["http://198.18.0.30:8080"], 200, 10, 3, kill_primary, 3, promote)
    accepted, refused = check("PostgreSQL's primary killed, the standby promoted 3 s later", results, f"pg{run}")
    others = {status for _, status, _ in results if not 200 <= status < 300 and status != 503}
    if others: failures.append(f"database fail-over: answers other than 2xx and 503 (no database): {sorted(others)}")

def partition():
    """6. The queues' leader node partitioned for 60 s: its link dropped (frames lost, no reset, not a stop) while
    commands flow through HAProxy. Every 2xx is applied once, every request is answered within 10 s, and the
    cluster is whole again after the heal without a hand (cluster_partition_handling = pause_minority)."""
    link = "bp-rabbit1"
    results = flow(f"part{run}", ["http://198.18.0.30:8080"], 300, 4, 5,
                   lambda: subprocess.run(["ip", "link", "set", link, "down"]), 60,
                   lambda: subprocess.run(["ip", "link", "set", link, "up"]))
    check("broker node r1 partitioned for 60 s", results, f"part{run}", timeout=180)
    hung = [at for at, status, _ in results if status == 0]
    if hung: failures.append(f"partition: {len(hung)} requests got no answer within 10 s")
    healed_at = None
    deadline = time.time() + 180
    while time.time() < deadline:
        status = subprocess.run(
            ["ip", "netns", "exec", "bpc-rabbit2", rabbitmq, "-n", "rabbit@r2", "cluster_status", "--formatter", "json"],
            env=dict(os.environ, HOME=f"{data}/cluster/rabbit2"), capture_output=True, text=True)
        try:
            state = json.loads(status.stdout)
            if len(state.get("running_nodes", [])) == 3 and not state.get("partitions"):
                healed_at = time.time(); break
        except json.JSONDecodeError: pass
        time.sleep(2)
    print(f"[cluster-test]   the cluster whole again: {'yes' if healed_at else 'NO'}", file=sys.stderr)
    if not healed_at: failures.append("partition: the cluster was not whole again within 180 s of the heal")

def lossy(host, label):
    """7 and 8. 20 % of a host's frames lost and the rest held 200 ms, both ways, for 60 s (ops/cluster impair: TCP
    retransmits and stalls, not a cut) while commands flow through HAProxy, `rounds` times. Every 2xx is applied
    once within 150 s of the last send, without a hand, and no session sits idle in a transaction on the server
    past its limit (idle_in_transaction_session_timeout, 60 s: a worker that gave its session up must not leave
    the server holding its locks)."""
    for round in range(1, rounds + 1):
        target = host() if callable(host) else host
        prefix = f"lossy{target}{round}x{run}"
        oldest = [0.0]
        watching = threading.Event()
        def watch():
            while not watching.is_set():
                try:
                    age = psql("SELECT coalesce(max(extract(epoch FROM now() - state_change)), 0) FROM pg_stat_activity "
                               "WHERE state LIKE 'idle in transaction%'")
                    oldest[0] = max(oldest[0], float(age))
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired, ValueError): pass
                time.sleep(2)
        watcher = threading.Thread(target=watch); watcher.start()
        impair = lambda: subprocess.run([root + "/ops/cluster", "impair", target, "20", "200"], capture_output=True)
        heal = lambda: subprocess.run([root + "/ops/cluster", "heal", target], capture_output=True)
        try:
            results = flow(prefix, ["http://198.18.0.30:8080"], 350, 5, 5, impair, 60, heal)
            check(f"{label} ({target}) lossy for 60 s, round {round} of {rounds}", results, prefix, timeout=150)
        finally:
            heal()
            watching.set(); watcher.join()
        with open(f"{data}/cluster/logs/relay-{target}.log") as log:
            print("[cluster-test]   the relay:", " / ".join(line.strip() for line in log), file=sys.stderr)
        print(f"[cluster-test]   the longest a session sat idle in a transaction: {oldest[0]:.0f} s", file=sys.stderr)
        if oldest[0] > 75: failures.append(f"lossy {target}: a session idle in its transaction for {oldest[0]:.0f} s")

def primary():
    return {"198.18.0.21": "pg1", "198.18.0.22": "pg2"}[psql("SELECT inet_server_addr()").split("/")[0]]

for number, scenario in enumerate(
        [leader_stop, link_cut, balancer_kill, cli_kill, database_failover, partition,
         lambda: lossy("worker1", "a worker's link"), lambda: lossy(primary, "PostgreSQL's primary's link")], start=1):
    if str(number) in chosen: scenario()

for failure in failures: print("[cluster-test] FAILED:", failure, file=sys.stderr)
sys.exit(1 if failures else 0)
