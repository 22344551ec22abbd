// mail-auth-fixtures/stalwart/{dkim,arc}/*.txt: TXT records ("name value" per line), an empty
// line, then the message.
import { readFile } from "node:fs/promises";
import type { ZoneResolver } from "./zone.ts";
import { txtZone } from "./zone.ts";

export async function readTxtFixture(path: string): Promise<{ zone: ZoneResolver; message: Buffer }> {
  const text = (await readFile(path, "utf8")).replace(/\r?\n/g, "\r\n");
  const split = text.indexOf("\r\n\r\n");
  const records: Record<string, string> = {};
  for (const line of text.slice(0, split).split("\r\n")) {
    const sp = line.indexOf(" ");
    if (sp > 0) records[line.slice(0, sp)] = line.slice(sp + 1).trim();
  }
  return { zone: txtZone(records), message: Buffer.from(text.slice(split + 4), "utf8") };
}
