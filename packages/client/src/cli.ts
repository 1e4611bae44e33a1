#!/usr/bin/env node
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { Presets, SingleBar } from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";

import { cliEnv } from "./cli-config.js";
import { createContactsClient } from "./client.js";
import type { ContactsClient } from "./client.js";
import { downloadFailedRows, exportContacts, uploadImport } from "./csv.js";
import type { CsvRouteOptions } from "./csv.js";
import { ContactsApiError } from "./errors.js";

/** `contacts`: bulk CSV import and export through the typed client. */
interface Connection {
  url?: string;
  key?: string;
}

interface ImportFlags extends Connection {
  mode: "insert" | "upsert";
  match: "externalId" | "email";
  dryRun: boolean;
  account?: string;
  map: Record<string, string | null>;
  idempotencyKey?: string;
  wait: boolean;
}

function connect(flags: Connection): { route: CsvRouteOptions; client: ContactsClient } {
  const url = flags.url ?? cliEnv.url;
  const apiKey = flags.key ?? cliEnv.apiKey;
  if (!url || !apiKey) {
    throw new InvalidArgumentError("give --url and --key (or set CONTACTS_URL and CONTACTS_API_KEY)");
  }
  return { route: { url, apiKey }, client: createContactsClient({ url, apiKey }) };
}

/** `--map "First=firstName"` (repeatable); `--map "Unused="` ignores a column. */
function collectMapping(
  value: string,
  previous: Record<string, string | null>,
): Record<string, string | null> {
  const at = value.lastIndexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected Header=field, got ${value}`);
  const field = value.slice(at + 1).trim();
  return { ...previous, [value.slice(0, at).trim()]: field === "" ? null : field };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FINISHED = new Set(["completed", "failed", "cancelled"]);

async function toStdout(body: ReadableStream<Uint8Array>, out?: string): Promise<void> {
  const target = out ? createWriteStream(out) : (process.stdout as Writable);
  await pipeline(Readable.fromWeb(body as never), target, { end: Boolean(out) });
}

const connection = (command: Command) =>
  command
    .option("--url <url>", "API base URL (default: $CONTACTS_URL)")
    .option("--key <apiKey>", "API key (default: $CONTACTS_API_KEY)");

const program = new Command("contacts").description("Bulk CSV import and export for the contacts API");

connection(program.command("import"))
  .description("upload a CSV file, follow the import with a progress bar, then print its summary")
  .argument("<file>", "the CSV file (UTF-8, with or without BOM; , ; tab or | separated)")
  .addOption(
    new Option("--mode <mode>", "insert new contacts, or upsert")
      .choices(["insert", "upsert"])
      .default("insert"),
  )
  .addOption(
    new Option("--match <field>", "what an upsert matches on")
      .choices(["externalId", "email"])
      .default("externalId"),
  )
  .option("--dry-run", "validate and report only, load nothing", false)
  .option("--account <id>", "account of every record that names none")
  .option(
    "--map <Header=field>",
    "map a column to a CSV field (repeatable; empty field ignores the column)",
    collectMapping,
    {},
  )
  .option("--idempotency-key <key>", "retrying with the same key answers with the first upload")
  .option("--no-wait", "print the import id and return without following it")
  .action(async (file: string, flags: ImportFlags) => {
    const { route, client } = connect(flags);
    const created = await uploadImport(route, file, {
      mode: flags.mode,
      matchOn: flags.match,
      dryRun: flags.dryRun,
      ...(flags.account ? { accountId: flags.account } : {}),
      // Field names are checked by the server (400 naming `mapping.<header>`).
      mapping: flags.map as Record<string, never>,
      ...(flags.idempotencyKey ? { idempotencyKey: flags.idempotencyKey } : {}),
    });
    process.stderr.write(
      `${created.existing ? "Already uploaded as" : "Uploaded as"} import ${created.importId} (${created.state})\n`,
    );
    if (!flags.wait) {
      process.stdout.write(`${created.importId}\n`);
      return;
    }
    const control = { cancelling: false };
    process.once("SIGINT", () => {
      control.cancelling = true;
      process.stderr.write("\nCancelling: the import stops at its next chunk and keeps what it loaded\n");
      void client.imports.cancel.mutate({ id: created.importId }).catch(() => undefined);
    });
    const bar = new SingleBar(
      {
        format: "{bar} {percentage}% | {value}/{total} records | {rate} rows/s | ETA {eta_text} | {state}",
        hideCursor: true,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    bar.start(1, 0, { rate: "-", eta_text: "-", state: created.state });
    let view = await client.imports.get.query({ id: created.importId });
    while (!FINISHED.has(view.state)) {
      const { processed } = view.counts;
      const estimated =
        view.totalRecords ??
        (view.etaSeconds !== null && view.rowsPerSecond
          ? processed + view.etaSeconds * view.rowsPerSecond
          : null);
      bar.setTotal(Math.max(1, Math.round(estimated ?? processed + 1)));
      bar.update(processed, {
        rate: view.rowsPerSecond ?? "-",
        eta_text: view.etaSeconds === null ? "-" : `${view.etaSeconds}s`,
        state: control.cancelling ? "cancelling" : view.state,
      });
      await sleep(1000);
      view = await client.imports.get.query({ id: created.importId });
    }
    bar.setTotal(Math.max(1, view.counts.processed));
    bar.update(view.counts.processed, { rate: view.rowsPerSecond ?? "-", eta_text: "0s", state: view.state });
    bar.stop();
    const c = view.counts;
    process.stdout.write(
      [
        `Import ${view.id}: ${view.state}${view.dryRun ? " (dry run)" : ""}`,
        `  processed ${c.processed}, inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}, failed ${c.failed}`,
        `  ${view.rowsPerSecond ?? 0} rows/s`,
        ...(view.failure ? [`  failure: ${view.failure}`] : []),
        ...(view.failedRowsUrl
          ? [
              `  failed rows (CSV with an Error column, fix and re-import): ${route.url.replace(/\/+$/, "")}${view.failedRowsUrl}`,
              `  or: contacts errors ${view.id} > failed-rows.csv`,
            ]
          : []),
        "",
      ].join("\n"),
    );
    process.exitCode = view.state === "completed" ? (c.failed > 0 ? 2 : 0) : 1;
  });

connection(program.command("export"))
  .description("write the contacts matching a search as CSV (the layout import reads), masked for the key")
  .option("--search <json>", 'contacts.search filters as JSON, e.g. \'{"city":"Austin"}\'')
  .option("--out <file>", "write to a file instead of standard output")
  .action(async (flags: Connection & { search?: string; out?: string }) => {
    const { route } = connect(flags);
    let filters: Record<string, unknown> = {};
    if (flags.search) {
      try {
        filters = JSON.parse(flags.search) as Record<string, unknown>;
      } catch {
        throw new InvalidArgumentError("--search is not JSON");
      }
    }
    await toStdout(await exportContacts(route, filters), flags.out);
  });

connection(program.command("errors"))
  .description("an import's failed records as CSV with an Error column (or --list: one line per error)")
  .argument("<importId>")
  .option("--list", "list the errors (record, column, reason) instead of the CSV", false)
  .option("--out <file>", "write the CSV to a file instead of standard output")
  .action(async (importId: string, flags: Connection & { list: boolean; out?: string }) => {
    const { route, client } = connect(flags);
    if (!flags.list) {
      await toStdout(await downloadFailedRows(route, importId), flags.out);
      return;
    }
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof client.imports.errors.query>> = await client.imports.errors.query(
        {
          id: importId,
          cursor,
          limit: 1000,
        },
      );
      for (const e of page.items)
        process.stdout.write(`${e.recordNumber}\t${e.column ?? "-"}\t${e.reason}\n`);
      cursor = page.nextCursor;
    } while (cursor);
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof ContactsApiError) {
    const where = error.errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ");
    process.stderr.write(`contacts: ${error.status || "network"} ${where || error.message}\n`);
  } else {
    process.stderr.write(`contacts: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
});
