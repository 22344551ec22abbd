// Types of the two internal modules of the `mailauth` package that src/mailauth/dkim-sign.ts
// uses (mailauth ships no declarations for them): its DKIM signer, which its public dkimSign()
// runs, and the helper that feeds a message into it.
declare module "mailauth/lib/dkim/dkim-signer.js" {
  import type { Writable } from "node:stream";

  /** One header field as mailauth parses it: lower-cased name, name as written, raw line. */
  export interface ParsedHeaderLine {
    key: string;
    casedKey: string;
    line: Buffer;
  }

  /** The options of one signature (mailauth's DKIMSignOptions, the part used here). */
  export interface SignatureData {
    signingDomain: string;
    selector: string;
    privateKey: string;
    algorithm?: string;
  }

  export class DkimSigner extends Writable {
    constructor(options: {
      canonicalization?: string;
      headerList?: string[];
      signTime?: Date;
      strict?: boolean;
      signatureData: SignatureData[];
    });
    /** The DKIM-Signature fields made, without line ends. */
    signatureHeaders: string[];
    errors: { err: Error; selector?: string; signingDomain?: string }[];
    warnings: string[];
    /** Called by the parser with the header fields of the message, in order. */
    messageHeaders(headers: { parsed: ParsedHeaderLine[] }): Promise<void>;
  }
}

declare module "mailauth/lib/tools.js" {
  /** Writes a message into a stream and resolves when it has finished. */
  export function writeToStream(stream: NodeJS.WritableStream, input: Buffer | string): Promise<void>;
}
