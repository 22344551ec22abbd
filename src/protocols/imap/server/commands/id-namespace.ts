// RFC 2971 ID (any state; the client's fields are logged, ours returned) and RFC 2342 /
// RFC 9051 §6.3.10 NAMESPACE: one personal namespace "" with the "/" delimiter.
import { idResponse, namespaceResponse } from "../../wire/index.ts";
import type { IdArgs } from "../../wire/index.ts";
import { command, ANY, AUTHED } from "../command.ts";
import { DELIMITER } from "../mailboxes.ts";

export const id = command<IdArgs>({
  name: "ID",
  states: ANY,
  async handle(s, args) {
    if (args.params !== null)
      s.log.info(
        {
          client: Object.fromEntries(
            args.params.slice(0, 30).map(([k, v]) => [k.slice(0, 30), (v ?? "").slice(0, 200)]),
          ),
        },
        "IMAP client ID",
      );
    s.send(
      idResponse([
        ["name", s.options.implementation],
        ["vendor", s.options.implementation],
      ]),
    );
  },
});

export const namespace = command({
  name: "NAMESPACE",
  states: AUTHED,
  async handle(s) {
    s.send(namespaceResponse([["", DELIMITER]], null, null, s.writeOptions));
  },
});
