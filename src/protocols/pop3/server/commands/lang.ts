// RFC 6856 §3 LANG: the language of the human-readable text in responses, valid in the
// AUTHORIZATION and TRANSACTION states.
//   LANG          lists the languages, one "tag description" line each (multi-line);
//   LANG range    selects the best match of a basic language range (RFC 4647 §3.4 lookup:
//                 "en-GB" falls back to "en"), answered "+OK <tag> ..." in that language;
//   LANG *        selects the server's default language.
// A range that matches no language is refused with -ERR and the language stays. Our texts
// exist in English only, so "en" is the one language listed: the capability promises only
// what the server does.
import { err, multiline, ok } from "../../wire/reply.ts";
import type { CommandHandler } from "../command.ts";

/** The languages of the response texts: tag (RFC 5646) and its name in that language. */
export const LANGUAGES: readonly { tag: string; name: string }[] = [{ tag: "en", name: "English" }];
export const DEFAULT_LANGUAGE = "en";

/** RFC 4647 §3.4 lookup of one basic range among our tags (case-insensitive); null if none. */
export function lookupLanguage(range: string): string | null {
  if (range === "*") return DEFAULT_LANGUAGE;
  let r = range.toLowerCase();
  for (;;) {
    const hit = LANGUAGES.find((l) => l.tag === r);
    if (hit !== undefined) return hit.tag;
    const dash = r.lastIndexOf("-");
    if (dash < 0) return null;
    r = r.slice(0, dash);
    // RFC 4647 §3.4: a single-character subtag left at the end is removed with the next one.
    if (r.length >= 2 && r[r.length - 2] === "-") r = r.slice(0, r.length - 2);
  }
}

export const lang: CommandHandler<"LANG"> = {
  name: "LANG",
  states: ["authorization", "transaction"],
  async handle(s, cmd) {
    if (cmd.range === undefined) {
      s.send(
        multiline(
          "language listing follows",
          LANGUAGES.map((l) => `${l.tag} ${l.name}`),
        ),
      );
      return;
    }
    const tag = lookupLanguage(cmd.range);
    if (tag === null) {
      s.send(err(`${s.language} unknown language ${cmd.range}`));
      s.countError();
      return;
    }
    s.language = tag;
    s.send(ok(`${tag} language changed`));
  },
};
