#!/usr/bin/env node
// The `contacts` command. This file is committed so that `npm install` links the command on a fresh
// clone (a bin pointing into dist/ would not exist yet, and npm links nothing); it loads the CLI
// that `npm run build` compiles into dist/.
import { existsSync } from "node:fs";
import process from "node:process";
import { URL } from "node:url";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    "contacts: the CLI is not built yet. Run `npm run build` at the root of the checkout, then try again.\n",
  );
  process.exit(1);
}
await import(cli.href);
