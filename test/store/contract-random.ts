// The store contract's property test: random sequences of appends, flag changes, copies,
// moves, expunges and destroys keep every invariant (UIDs never reused and increasing per
// mailbox, modseq never going back, checkInvariants). Registered by runContract (contract.ts).
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Id } from "../../src/store/types.ts";
import type { ContractTest } from "./contract.ts";
import { checkInvariants, input, ok, rawMessage } from "./helpers.ts";

export function randomOperations(it: ContractTest): void {
  it("random operation sequences keep every invariant (property)", async ({ store }) => {
    let n = 0;
    type Op =
      | { k: "append"; boxes: number[]; seen: boolean }
      | { k: "flag"; pick: number; seen: boolean }
      | { k: "copy" | "move"; pick: number; from: number; to: number }
      | { k: "expunge"; box: number; pick: number }
      | { k: "destroy"; pick: number };
    const box = fc.integer({ min: 0, max: 2 });
    const pick = fc.nat(50);
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        k: fc.constant("append" as const),
        boxes: fc.uniqueArray(box, { minLength: 1, maxLength: 3 }),
        seen: fc.boolean(),
      }),
      fc.record({ k: fc.constant("flag" as const), pick, seen: fc.boolean() }),
      fc.record({ k: fc.constantFrom("copy" as const, "move" as const), pick, from: box, to: box }),
      fc.record({ k: fc.constant("expunge" as const), box, pick }),
      fc.record({ k: fc.constant("destroy" as const), pick }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 20 }), async (ops) => {
        const a = await store.createAccount({ name: `prop${++n}@example.org` });
        const boxes = await Promise.all(
          ["INBOX", "Archive", "Trash"].map(async (p) => (await store.getMailboxByPath(a.id, p))!.id),
        );
        const given = new Set<string>();
        const maxUid = new Map<Id, number>();
        const fresh = (mailboxId: Id, uid: number): void => {
          assert.ok(!given.has(`${mailboxId}:${uid}`), "a UID is never given twice");
          assert.ok(uid > (maxUid.get(mailboxId) ?? 0), "UIDs increase");
          given.add(`${mailboxId}:${uid}`);
          maxUid.set(mailboxId, uid);
        };
        let modseq = await store.currentModSeq(a.id);
        for (const o of ops) {
          const all = (await Promise.all(boxes.map((b) => store.listMessages(a.id, b)))).flat();
          const target = all.length ? all[("pick" in o ? o.pick : 0) % all.length] : undefined;
          switch (o.k) {
            case "append": {
              const r = ok(
                (
                  await store.appendEmails(a.id, [
                    input(
                      rawMessage(),
                      o.boxes.map((i) => boxes[i]!),
                      o.seen ? ["\\Seen"] : [],
                    ),
                  ])
                )[0]!,
              );
              for (const u of r.uids) fresh(u.mailboxId, u.uid);
              break;
            }
            case "flag":
              if (target)
                await store.setKeywords(
                  a.id,
                  [target.emailId],
                  o.seen ? { add: ["\\Seen"] } : { remove: ["\\Seen"] },
                );
              break;
            case "copy":
              if (target) {
                const c = await store.copyEmails(a.id, [target.emailId], boxes[o.to]!);
                for (const x of c.copied) fresh(boxes[o.to]!, x.uid);
              }
              break;
            case "move": {
              const src = boxes[o.from]!;
              const inSrc = (await store.listMessages(a.id, src))[o.pick % Math.max(1, all.length)];
              if (inSrc) {
                const mv = await store.moveEmails(a.id, src, [inSrc.emailId], boxes[o.to]!);
                for (const x of mv.copy.copied) fresh(boxes[o.to]!, x.uid);
              }
              break;
            }
            case "expunge": {
              const list = await store.listMessages(a.id, boxes[o.box]!);
              const m = list[o.pick % Math.max(1, list.length)];
              if (m) assert.deepEqual((await store.expunge(a.id, boxes[o.box]!, [m.uid])).uids, [m.uid]);
              break;
            }
            case "destroy":
              if (target) await store.destroyEmails(a.id, [target.emailId]);
              break;
          }
          const now = await store.currentModSeq(a.id);
          assert.ok(now >= modseq, "modseq never goes back");
          modseq = now;
        }
        await checkInvariants(store, a.id);
      }),
      { numRuns: 12 },
    );
  });
}
