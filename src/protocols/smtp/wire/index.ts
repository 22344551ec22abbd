// The SMTP wire layer: pure parsing and serialization for the server and the client sides.
export * from "./bdat.ts";
export * from "./commands.ts";
export * from "./data.ts";
export * from "./ehlo.ts";
export * from "./framer.ts";
export * from "./params.ts";
export * from "./path.ts";
export * from "./replies.ts";
export * from "./xtext.ts";
