// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3) with RFC 4466 §2.1 select-params: CONDSTORE
// (RFC 7162 §3.1.8) and QRESYNC (RFC 7162 §3.2.5):
//   select-param =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//                   [SP seq-match-data] ")"
//   seq-match-data = "(" known-sequence-set SP known-uid-set ")"
import type { ArgReader } from "../args.ts";
import { sequenceSetHasStar, type SequenceSet } from "../sequence-set.ts";

export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SequenceSet | null;
  seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null;
}

export interface SelectArgs {
  type: "select" | "examine";
  mailbox: string;
  condstore: boolean;
  qresync: QresyncParams | null;
}

function parseQresync(r: ArgReader): QresyncParams {
  r.open();
  const uidValidity = r.nzNumber("a UIDVALIDITY");
  r.sp();
  const modseq = r.number64();
  let knownUids: SequenceSet | null = null;
  let seqMatch: QresyncParams["seqMatch"] = null;
  if (r.trySp()) {
    if (r.atSequenceSet()) {
      knownUids = r.sequenceSet();
      if (knownUids.kind === "saved") r.fail("$ is not allowed in QRESYNC");
      // RFC 7162 §7: known-uids = sequence-set; "*" is not allowed
      if (sequenceSetHasStar(knownUids)) r.fail("* is not allowed in QRESYNC known UIDs");
      if (r.trySp()) seqMatch = parseSeqMatch(r);
    } else seqMatch = parseSeqMatch(r);
  }
  r.close();
  return { uidValidity, modseq, knownUids, seqMatch };
}

function parseSeqMatch(r: ArgReader): { seqs: SequenceSet; uids: SequenceSet } {
  r.open();
  const seqs = r.sequenceSet();
  r.sp();
  const uids = r.sequenceSet();
  r.close();
  if (seqs.kind === "saved" || uids.kind === "saved") r.fail("$ is not allowed in QRESYNC");
  // RFC 7162 §7: known-sequence-set and known-uid-set: "* is not allowed"
  if (sequenceSetHasStar(seqs) || sequenceSetHasStar(uids)) r.fail("* is not allowed in QRESYNC sets");
  return { seqs, uids };
}

export function parseSelect(type: "select" | "examine", r: ArgReader): SelectArgs {
  r.sp();
  const mailbox = r.mailbox();
  const out: SelectArgs = { type, mailbox, condstore: false, qresync: null };
  if (r.trySp()) {
    r.open();
    for (;;) {
      const name = r.keyword("a select parameter");
      if (name === "CONDSTORE") out.condstore = true;
      else if (name === "QRESYNC") {
        if (out.qresync !== null) r.fail("QRESYNC given twice");
        r.sp();
        out.qresync = parseQresync(r);
      } else r.fail(`Unknown select parameter ${name}`); // RFC 4466 §2.1: BAD
      if (r.tryClose()) break;
      r.sp();
    }
  }
  r.end();
  return out;
}
