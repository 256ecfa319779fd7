// bullpen-sync's wire format, in plain JavaScript so that it runs (and is tested) without a TypeScript step:
// the body Bullpen's ingest takes and the signature it checks.
import { createHmac } from "node:crypto";

const EVENTS = new Set(["command:new", "command:reset", "command:stop", "agent:bootstrap", "gateway:startup"]);

/** The body for a hook event: {type, action, sessionKey, timestamp, context}, without context.cfg. */
export function payload(event) {
  const key = `${event.type}:${event.action}`;
  if (!EVENTS.has(key)) return null;
  let context = null;
  if (event.context && typeof event.context === "object") {
    const { cfg, ...rest } = event.context;
    context = rest;
  }
  const timestamp = event.timestamp instanceof Date ? event.timestamp.toISOString() : event.timestamp ?? null;
  return JSON.stringify({
    type: event.type,
    action: event.action,
    sessionKey: event.sessionKey ?? null,
    timestamp,
    context,
  });
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as ingest verifies it. */
export function signature(body, secret, unixSeconds) {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`, "utf8").digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/** Posts one event; tries again on a network failure or a 5xx. Resolves to the last status (0: no answer). */
export async function send(event, { url, secret, tries = 3, timeoutMs = 5000, fetchImpl = fetch, log = console } = {}) {
  const body = payload(event);
  if (body === null || !url || !secret) return 0;
  let status = 0;
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const response = await fetchImpl(`${url.replace(/\/$/, "")}/webhooks/agents/event`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Bullpen-Signature": signature(body, secret, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      if (status < 500) {
        if (status >= 400) log.warn?.(`[bullpen-sync] Bullpen refused the event: ${status}`);
        return status;
      }
    } catch (error) {
      status = 0;
      log.warn?.(`[bullpen-sync] Bullpen did not answer: ${error}`);
    }
    if (attempt < tries) await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
  }
  log.error?.(`[bullpen-sync] gave up on ${event.type}:${event.action} after ${tries} tries (last status ${status})`);
  return status;
}
