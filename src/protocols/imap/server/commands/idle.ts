// RFC 2177 IDLE (RFC 9051 §6.3.13): "+ idling", then every change of the selected mailbox
// the bus reports is sent at once (EXPUNGE allowed), until the client's DONE.
import { continuation } from "../../wire/index.ts";
import { command, AUTHED } from "../command.ts";
import { bad } from "../errors.ts";

export const idle = command({
  name: "IDLE",
  states: AUTHED,
  async handle(s) {
    s.send(continuation("idling"));
    const report = async (): Promise<void> => {
      try {
        await s.flushUpdates(true);
      } catch (e) {
        s.log.warn({ err: e instanceof Error ? e.message : String(e) }, "IDLE update failed");
      }
    };
    await report();
    const line = await s.readLine(report);
    if (line === null) {
      if (s.stopping) return { text: "IDLE terminated, server shutting down" };
      throw bad("IDLE ended without DONE");
    }
    if (line.toString("latin1").toUpperCase() !== "DONE") throw bad("Expected DONE");
    return { text: "IDLE terminated" };
  },
});
