#!/usr/bin/env node
// The changes between two OpenAPI documents, classified by api-smart-diff (offline,
// no network): breaking, non-breaking, deprecated, annotation or unclassified.
// Usage: node tools/api_diff.cjs BEFORE.json AFTER.json
// Prints a JSON array of {type, action, path, description}; tools/api_gate.py decides.
"use strict";
const fs = require("node:fs");
const { apiCompare } = require("api-smart-diff");

const [beforeFile, afterFile] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error("usage: node tools/api_diff.cjs BEFORE.json AFTER.json");
  process.exit(2);
}
const read = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
const { diffs } = apiCompare(read(beforeFile), read(afterFile));
const changes = diffs.map(({ type, action, path, description }) => ({
  type,
  action,
  path,
  description: description || "",
}));
process.stdout.write(JSON.stringify(changes) + "\n");
