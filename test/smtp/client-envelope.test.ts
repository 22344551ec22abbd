// The outbound envelope's RFC 2852 BY and RFC 6710 MT-PRIORITY parameters: the queue's
// deadline becomes the seconds left, both go on only to a peer that offers the extension,
// and BY ...;R to a peer without DELIVERBY is refused with 5.4.7 instead of being relayed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareTransaction } from "../../src/protocols/smtp/client/envelope.ts";
import { outboundParams } from "../../src/protocols/smtp/client/queue-transport.ts";
import { SmtpClientError } from "../../src/protocols/smtp/client/types.ts";
import type { EhloCapabilities } from "../../src/protocols/smtp/wire/ehlo.ts";

const MSG = Buffer.from("From: a@example.net\r\nSubject: by\r\n\r\nhello\r\n");
const NOW = Date.UTC(2026, 11, 7, 10);

function mailLine(capabilities: EhloCapabilities, params: ReturnType<typeof outboundParams>): string {
  const t = prepareTransaction(
    { capabilities, verifiedTls: false },
    "a@example.net",
    [{ address: "b@example.org" }],
    params,
    MSG,
  );
  return t.mailLine;
}

void test("outboundParams: seconds left, R never below 1, N may be negative, no priority 0", () => {
  assert.deepEqual(outboundParams({ priority: 3, deliverBy: NOW + 90_500, deliverByMode: "R" }, NOW), {
    mtPriority: 3,
    by: { time: 91, mode: "R", trace: false },
  });
  assert.deepEqual(outboundParams({ deliverBy: NOW - 5_000, deliverByMode: "R" }, NOW).by?.time, 1);
  assert.deepEqual(
    outboundParams({ deliverBy: NOW - 5_000, deliverByMode: "N", deliverByTrace: true }, NOW).by,
    {
      time: -5,
      mode: "N",
      trace: true,
    },
  );
  assert.deepEqual(outboundParams({ priority: 0, deliverBy: null, ret: "HDRS" }, NOW), { ret: "HDRS" });
});

void test("BY and MT-PRIORITY go on to a peer that offers them", () => {
  const params = outboundParams(
    { priority: -4, deliverBy: NOW + 600_000, deliverByMode: "R", deliverByTrace: true },
    NOW,
  );
  assert.equal(
    mailLine({ deliverBy: null, mtPriority: {} }, params),
    "MAIL FROM:<a@example.net> MT-PRIORITY=-4 BY=600;RT\r\n",
  );
});

void test("without the extensions: MT-PRIORITY dropped, BY N dropped, BY R refused with 5.4.7", () => {
  const n = outboundParams({ priority: 5, deliverBy: NOW + 600_000, deliverByMode: "N" }, NOW);
  assert.equal(mailLine({}, n), "MAIL FROM:<a@example.net>\r\n");
  const r = outboundParams({ deliverBy: NOW + 600_000, deliverByMode: "R" }, NOW);
  assert.throws(
    () => mailLine({}, r),
    (e: unknown) => e instanceof SmtpClientError && e.reply?.enhanced === "5.4.7" && e.permanent,
  );
});
