// The OpenClaw hook: every lifecycle event this hook subscribes to (HOOK.md) goes to Bullpen, signed. The
// wire format lives in sign.mjs (plain JavaScript, tested by Bullpen's test suite against its ingest).
import { send } from "./sign.mjs";

type HookEvent = {
  type: string;
  action: string;
  sessionKey?: string;
  timestamp?: Date | string;
  context?: Record<string, unknown>;
};

const handler = async (event: HookEvent): Promise<void> => {
  // Fire and forget: the gateway never waits on Bullpen, and an error never reaches it.
  void send(event, {
    url: process.env.BULLPEN_URL ?? "",
    secret: (process.env.BULLPEN_HOOK_SECRET ?? "").split(",")[0].trim(),
  }).catch((error: unknown) => console.error(`[bullpen-sync] ${String(error)}`));
};

export default handler;
