// RFC 9051 §6.1.2 NOOP (and RFC 3501 §6.4.1 CHECK, a NOOP here): the pending updates go out
// before the tagged OK. RFC 9051 §6.1.3 LOGOUT: "* BYE", the tagged OK, then the close.
import { command, ANY, SELECTED } from "../command.ts";
import { untaggedStatus } from "../../wire/index.ts";

export const noop = command({
  name: "NOOP",
  states: ANY,
  async handle() {
    return { text: "NOOP completed" };
  },
});

export const check = command({
  name: "CHECK",
  states: SELECTED,
  async handle() {
    return { text: "CHECK completed" };
  },
});

export const logout = command({
  name: "LOGOUT",
  states: ANY,
  async handle(s) {
    s.send(untaggedStatus("BYE", "Logging out"));
    s.state = "logout";
    return { text: "LOGOUT completed", skipUpdates: true };
  },
});
