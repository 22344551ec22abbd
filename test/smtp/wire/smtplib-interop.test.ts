// Interop: Python's smtplib talks to a minimal loop built only from the wire layer (framer,
// command parser, EHLO builder, replies, DATA reader), over a real socket on 127.0.0.1. This
// checks the parser against a real client's bytes; the real session layer lives elsewhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { spawn } from "node:child_process";
import { InputFramer } from "../../../src/protocols/smtp/wire/framer.ts";
import { parseCommand } from "../../../src/protocols/smtp/wire/commands.ts";
import type { MailCommand, RcptCommand } from "../../../src/protocols/smtp/wire/commands.ts";
import { formatEhlo } from "../../../src/protocols/smtp/wire/ehlo.ts";
import { formatReply, formatReplyObject, reply } from "../../../src/protocols/smtp/wire/replies.ts";
import { DataReader } from "../../../src/protocols/smtp/wire/data.ts";

const PYTHON = "/usr/bin/python3";

interface Txn {
  mail: MailCommand;
  rcpts: RcptCommand[];
  message: Buffer;
}

function serve(sock: Socket, txns: Txn[], auths: string[]): void {
  const f = new InputFramer();
  let mail: MailCommand | null = null;
  let rcpts: RcptCommand[] = [];
  const send = (s: string) => sock.write(s);
  send(formatReply(220, null, "test.example ESMTP"));
  sock.on("data", (chunk: Buffer) => {
    f.push(chunk);
    for (let e = f.next(); e; e = f.next()) {
      if (e.type === "line-too-long") send(formatReplyObject(reply("LINE_TOO_LONG")));
      else if (e.type === "data") {
        if (e.done.error) send(formatReplyObject(reply("SMUGGLING")));
        else {
          txns.push({ mail: mail!, rcpts, message: Buffer.from(e.done.message) });
          send(formatReplyObject(reply("MESSAGE_ACCEPTED")));
        }
        mail = null;
        rcpts = [];
      } else if (e.type === "line") {
        const r = parseCommand(e.line, {
          smtputf8Allowed: true,
          utf8Transaction: mail?.params.smtputf8 === true,
        });
        if (!r.ok) {
          send(formatReplyObject(r.reply));
          continue;
        }
        const c = r.command;
        switch (c.verb) {
          case "EHLO":
            send(
              formatEhlo("test.example", "hello", {
                pipelining: true,
                size: 1000000,
                eightBitMime: true,
                enhancedStatusCodes: true,
                dsn: true,
                auth: ["PLAIN"],
                smtputf8: true,
              }),
            );
            break;
          case "AUTH":
            auths.push(`${c.mechanism} ${c.initialResponse?.toString("latin1") ?? ""}`);
            send(formatReplyObject(reply("AUTH_OK")));
            break;
          case "MAIL":
            mail = c;
            send(formatReplyObject(reply("SENDER_OK")));
            break;
          case "RCPT":
            rcpts.push(c);
            send(formatReplyObject(reply("RECIPIENT_OK")));
            break;
          case "DATA":
            f.startData(new DataReader({ maxSize: 1000000 }));
            send(formatReplyObject(reply("START_DATA")));
            break;
          case "QUIT":
            send(formatReplyObject(reply("CLOSING")));
            sock.end();
            return;
          default:
            send(formatReplyObject(reply("OK")));
        }
      }
    }
  });
}

const script = String.raw`
import smtplib, sys
from email.message import EmailMessage
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.example")
s.ehlo()
s.login("alice@test.example", "s3cret")
body = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
s.sendmail("alice@test.example", ["bob@test.example", "Carol Smith <carol@test.example>"], body,
           mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
m = EmailMessage()
m["From"] = "jöran@bücher.example"
m["To"] = "用户@例子.example"
m["Subject"] = "utf8"
m.set_content("grüße\n")
s.send_message(m)
s.quit()
print("done")
`;

test(
  "Python smtplib: EHLO, AUTH PLAIN with initial response, DSN and SIZE parameters, dot-stuffing, SMTPUTF8",
  async () => {
    const txns: Txn[] = [];
    const auths: string[] = [];
    const server = createServer((sock) => serve(sock, txns, auths));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn(PYTHON, ["-c", script, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
        let o = "";
        let e = "";
        p.stdout.on("data", (d: Buffer) => (o += d.toString()));
        p.stderr.on("data", (d: Buffer) => (e += d.toString()));
        const t = setTimeout(() => p.kill(), 10000);
        p.on("close", (code) => {
          clearTimeout(t);
          if (code === 0) resolve(o);
          else reject(new Error(`python exited ${code}: ${e}`));
        });
      });
      assert.equal(out.trim(), "done");
      assert.deepEqual(auths, ["PLAIN \0alice@test.example\0s3cret"]);
      assert.equal(txns.length, 2);
      const [t1, t2] = txns as [Txn, Txn];
      assert.equal(t1.mail.from?.localPart, "alice");
      assert.equal(t1.mail.params.body, "8BITMIME");
      assert.equal(typeof t1.mail.params.size, "number");
      assert.deepEqual(
        t1.rcpts.map((r) => [r.to.localPart, r.to.domain, r.params.notify]),
        [
          ["bob", "test.example", ["SUCCESS", "FAILURE"]],
          ["carol", "test.example", ["SUCCESS", "FAILURE"]],
        ],
      );
      assert.equal(t1.message.toString(), "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n");
      assert.equal(t2.mail.params.smtputf8, true);
      assert.equal(t2.mail.from?.localPart, "jöran");
      assert.equal(t2.mail.from?.domain, "bücher.example");
      assert.equal(t2.rcpts[0]?.to.localPart, "用户");
      assert.match(t2.message.toString(), /grüße/);
    } finally {
      server.close();
    }
  },
);
