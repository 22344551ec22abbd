// Renders the configuration reference (docs/config.md) and the annotated example
// (docs/mailroom.example.toml) from the schema, so they can never drift from the code.
// scripts/gen-config-docs.ts writes them, or checks them with --check.
import { z } from "zod";
import {
  configSchema,
  defaultConfig,
  DYNAMIC_SECTIONS,
  SERVICE_DEFAULTS,
  STATIC_SECTIONS,
  type Config,
  type ListenerConfig,
} from "./schema.ts";

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

/** One documented field. */
export interface FieldDoc {
  /** Dotted path: "server.hostname", "listeners.<name>.port", "tls.certificates[].names". */
  path: string;
  type: string;
  /** The default as TOML would write it, or a phrase ("standard port of the service"). */
  default: string;
  description: string;
  reload: "static" | "dynamic";
}

export interface SectionDoc {
  name: string;
  description: string;
  reload: "static" | "dynamic";
  fields: FieldDoc[];
}

function jsonSchema(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

const SAFE = 9007199254740991;

function typeOf(s: JsonSchema): string {
  if (s.enum !== undefined) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(" | ");
  if (s.type === "array") {
    const item = s.items;
    if (item?.type === "object") return "array of tables";
    return item === undefined ? "array" : `array of ${typeOf(item)}`;
  }
  if (s.type === "integer" || s.type === "number") {
    const lo = s.minimum !== undefined && s.minimum > -SAFE ? s.minimum : undefined;
    const hi = s.maximum !== undefined && s.maximum < SAFE ? s.maximum : undefined;
    const word = s.type;
    if (lo !== undefined && hi !== undefined) return `${word} ${lo}..${hi}`;
    if (lo !== undefined) return `${word} ≥ ${lo}`;
    if (hi !== undefined) return `${word} ≤ ${hi}`;
    return word;
  }
  if (s.type === "object") return "table";
  return s.type ?? "any";
}

/** A value as TOML writes it (strings, numbers, booleans, arrays of those). */
export function tomlValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k} = ${tomlValue(x)}`)
      .join(", ")} }`;
  }
  return String(v);
}

function reloadOf(section: string): "static" | "dynamic" {
  return (DYNAMIC_SECTIONS as readonly string[]).includes(section) ? "dynamic" : "static";
}

const LISTENER_DEFAULT_PHRASE: Record<string, string> = {
  service: "the listener name",
  port: "standard port of the service",
  tls: "usual mode of the service",
  bind: "0.0.0.0 (lmtp 127.0.0.1)",
  path: "none (TCP)",
  socketMode: '"0660"',
  vrfy: '"off"',
};

/** A listener as the example file writes it: TCP fields or unix-socket fields, not both. */
function exampleListener(l: ListenerConfig): [string, unknown][] {
  const unix = l.path !== "";
  return Object.entries(l).flatMap(([k, v]): [string, unknown][] => {
    if (k === "socketMode") return unix ? [[k, `0${(v as number).toString(8)}`]] : [];
    if (k === "path") return unix ? [[k, v]] : [];
    if (k === "bind" || k === "port") return unix ? [] : [[k, v]];
    return [[k, v]];
  });
}

/** Every section and field of the schema, in schema order. */
export function describeConfig(): SectionDoc[] {
  const root = jsonSchema();
  const out: SectionDoc[] = [];
  for (const [name, sec] of Object.entries(root.properties ?? {})) {
    const reload = reloadOf(name);
    const fields: FieldDoc[] = [];
    const add = (path: string, s: JsonSchema, dflt?: string): void => {
      fields.push({
        path,
        type: typeOf(s),
        default: dflt ?? (s.default === undefined ? "(none)" : tomlValue(s.default)),
        description: s.description ?? "",
        reload,
      });
    };
    if (name === "listeners") {
      const item = typeof sec.additionalProperties === "object" ? sec.additionalProperties : {};
      for (const [f, fs] of Object.entries(item.properties ?? {})) {
        add(`listeners.<name>.${f}`, fs, LISTENER_DEFAULT_PHRASE[f]);
      }
    } else {
      for (const [f, fs] of Object.entries(sec.properties ?? {})) {
        add(`${name}.${f}`, fs);
        if (fs.type === "array" && fs.items?.type === "object") {
          for (const [sf, ss] of Object.entries(fs.items.properties ?? {}))
            add(`${name}.${f}[].${sf}`, ss, "(required)");
        }
      }
    }
    out.push({ name, description: sec.description ?? "", reload, fields });
  }
  return out;
}

/** Text in a table cell: pipes escaped, angle brackets as entities. */
function mdText(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Code in a table cell (GFM still needs the pipes escaped). */
function mdCode(s: string): string {
  return `\`${s.replaceAll("|", "\\|")}\``;
}

/** docs/config.md */
export function renderReference(): string {
  const sections = describeConfig();
  const lines: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated by scripts/gen-config-docs.ts from src/config/schema.ts. Do not edit by hand. -->",
    "",
    "Mailroom reads one TOML file, given to `mailroom serve` (see `mailroom serve --help`). Every field has a default,",
    "so an empty file is a valid configuration; an annotated example with every field is in",
    "[mailroom.example.toml](mailroom.example.toml).",
    "",
    `- **Static** sections (${STATIC_SECTIONS.map((s) => `\`${s}\``).join(", ")}) are read at start; changing them needs a restart.`,
    `- **Dynamic** sections (${DYNAMIC_SECTIONS.map((s) => `\`${s}\``).join(", ")}) are applied by a reload: send SIGHUP to the server.`,
    "  A reload with an invalid file, or one that changes a static setting, is refused (the log says",
    '  "restart needed for ...") and the running settings stay.',
    "- Domains, accounts and aliases are kept in the store (managed with the CLI), not in this file;",
    "  the `domains` section only holds their defaults.",
    "- Environment: `MAILROOM_DNS=ip:port` replaces `dns.resolver`.",
    "",
  ];
  for (const s of sections) {
    lines.push(
      `## [${s.name}]`,
      "",
      `${s.description} ${s.reload === "static" ? "**Static**: restart needed." : "**Dynamic**: hot-reloaded."}`,
      "",
    );
    if (s.name === "listeners") {
      lines.push("Default listeners:", "", "| name | service | port | tls |", "|---|---|---|---|");
      for (const [svc, d] of Object.entries(SERVICE_DEFAULTS))
        lines.push(`| ${svc} | ${svc} | ${d.port} | ${d.tls} |`);
      lines.push("");
    }
    lines.push("| Field | Type | Default | Reload | Description |", "|---|---|---|---|---|");
    for (const f of s.fields) {
      lines.push(
        `| ${mdCode(f.path)} | ${mdText(f.type)} | ${f.default.startsWith("(") || /^[a-z]+ [a-z ]+$/.test(f.default) || f.default.includes("(") ? mdText(f.default) : mdCode(f.default)} | ${f.reload} | ${mdText(f.description)} |`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

function wrapComment(text: string, indent = "# ", width = 100): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") out.push(indent + line);
  return out;
}

/** docs/mailroom.example.toml: every field with its default and its description. */
export function renderExample(): string {
  const sections = describeConfig();
  const defaults: Config = defaultConfig();
  const lines: string[] = [
    "# Mailroom configuration: every field with its default value.",
    "# Generated by scripts/gen-config-docs.ts from src/config/schema.ts. Do not edit by hand;",
    "# copy it, keep the fields you change. Reference: docs/config.md.",
    "",
  ];
  for (const s of sections) {
    lines.push(`# ${"-".repeat(97)}`);
    lines.push(
      ...wrapComment(
        `[${s.name}] ${s.description} (${s.reload === "static" ? "static: restart needed" : "dynamic: reloaded on SIGHUP"})`,
      ),
    );
    lines.push("");
    const values = defaults[s.name as keyof Config] as Record<string, unknown>;
    if (s.name === "listeners") {
      lines.push("# Fields of a listener:");
      for (const f of s.fields) {
        const key = f.path.replace("listeners.<name>.", "");
        lines.push(...wrapComment(`${key} (${f.type}, default ${f.default}): ${f.description}`, "#   "));
      }
      lines.push("");
      for (const [name, l] of Object.entries(values)) {
        lines.push(`[listeners.${name}]`);
        for (const [k, v] of exampleListener(l as ListenerConfig)) lines.push(`${k} = ${tomlValue(v)}`);
        lines.push("");
      }
      lines.push(
        "# A listener on a unix socket, e.g. LMTP beside port 24 for an MTA on this host:",
        "# [listeners.lmtp-socket]",
        '# service = "lmtp"',
        '# path = "/run/mailroom/lmtp.sock"',
        '# socketMode = "0660"',
        "",
      );
      continue;
    }
    lines.push(`[${s.name}]`);
    for (const f of s.fields) {
      if (f.path.includes("[]")) continue;
      const key = f.path.slice(s.name.length + 1);
      lines.push(...wrapComment(f.description));
      const v = values[key];
      if (Array.isArray(v) && v.length === 0 && f.type === "array of tables") {
        // An array of tables: show the shape, commented out.
        const subs = s.fields.filter((x) => x.path.startsWith(`${f.path}[].`));
        lines.push(`${key} = []`, "# Example:");
        lines.push(`# [[${s.name}.${key}]]`);
        for (const sub of subs) {
          const sk = sub.path.slice(f.path.length + 3);
          lines.push(
            `# ${sk} = ${sk === "names" ? '["mail.example.org", "*.example.org"]' : `"/etc/mailroom/${sk === "certFile" ? "example.crt" : "example.key"}"`}  # ${sub.description}`,
          );
        }
      } else {
        lines.push(`${key} = ${tomlValue(v)}`);
      }
      lines.push("");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
