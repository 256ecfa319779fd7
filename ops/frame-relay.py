#!/usr/bin/env python3
"""A lossy, slow link for the namespace cluster (this kernel has no netem): forwards Ethernet frames between two
interfaces both ways, losing each frame with probability LOSS % and holding every other one DELAY ms, in order.
TCP sees what it sees on a bad link: retransmits, stalls, timeouts; not a reset.
  ops/frame-relay.py A B LOSS DELAY_MS        (ops/cluster impair runs it; root, for packet sockets)
The interfaces must hand it whole frames with their checksums: ops/cluster turns segmentation and checksum
offloads off on the link's ends first."""
import collections, random, signal, socket, sys, threading, time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # a frame this host sent on the interface (ours, relayed): not to be relayed back

def relay(source, target, loss, delay, counts):
    """Reads frames arriving on `source` and sends them out on `target` `delay` seconds later, unless lost."""
    inbound = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    inbound.bind((source, 0))
    outbound = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    outbound.bind((target, 0))
    held = collections.deque()
    ready = threading.Condition()

    def sender():
        while True:
            with ready:
                while not held: ready.wait()
                due, frame = held[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                continue
            with ready: held.popleft()
            try: outbound.send(frame)
            except OSError: counts["failed"] += 1  # the target went away (the link healed under us)

    threading.Thread(target=sender, daemon=True).start()
    while True:
        frame, address = inbound.recvfrom(65536)
        if address[2] == PACKET_OUTGOING: continue
        counts["seen"] += 1
        if random.random() < loss:
            counts["lost"] += 1
            continue
        with ready:
            held.append((time.monotonic() + delay, frame))
            ready.notify()

def main():
    a, b, loss, delay = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 100, float(sys.argv[4]) / 1000
    counts = {f"{a}>{b}": collections.Counter(), f"{b}>{a}": collections.Counter()}
    for (source, target), direction in zip([(a, b), (b, a)], counts):
        threading.Thread(target=relay, args=(source, target, loss, delay, counts[direction]), daemon=True).start()
    print(f"relaying {a} <-> {b}: {loss:.0%} of frames lost, the rest held {delay * 1000:.0f} ms", flush=True)

    def stop(*_):
        for direction, count in counts.items():
            print(f"{direction}: {count['seen']} frames, {count['lost']} lost, {count['failed']} not sent", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True: signal.pause()

main()
