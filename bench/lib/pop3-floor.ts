// The cheapest POP3 server there can be for the pop3-retr workload: every answer (the
// messages byte-stuffed, RFC 1939 §3) is built in memory before the first connection, and a
// command costs one lookup and one socket write. The harness's client against it measures
// the round-trip floor of the client, the loopback and this machine: no real server can
// answer RETRs faster through that client, which bounds any ratio to a reference server.
import { createServer, type AddressInfo, type Server } from "node:net";

export interface FloorServer {
  port: number;
  close(): Promise<void>;
}

function retrAnswer(raw: Buffer): Buffer {
  const text = raw.toString("latin1").replace(/^\./gm, "..");
  const body = text.endsWith("\r\n") ? text : `${text}\r\n`;
  return Buffer.from(`+OK ${raw.length} octets\r\n${body}.\r\n`, "latin1");
}

export async function startFloorServer(messages: readonly Buffer[]): Promise<FloorServer> {
  const retr = messages.map(retrAnswer);
  const total = messages.reduce((n, m) => n + m.length, 0);
  const uidl = Buffer.from(`+OK\r\n${messages.map((_, i) => `${i + 1} m${i}`).join("\r\n")}\r\n.\r\n`);
  const server: Server = createServer({ noDelay: true }, (s) => {
    s.on("error", () => undefined);
    s.write("+OK ready\r\n");
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const [cmd = "", arg = ""] = buf.slice(0, i).split(" ");
        buf = buf.slice(i + 2);
        switch (cmd.toUpperCase()) {
          case "RETR":
            s.write(retr[Number(arg) - 1] ?? "-ERR no such message\r\n");
            break;
          case "STAT":
            s.write(`+OK ${messages.length} ${total}\r\n`);
            break;
          case "UIDL":
            s.write(uidl);
            break;
          case "QUIT":
            s.end("+OK bye\r\n");
            break;
          default:
            s.write("+OK\r\n");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
