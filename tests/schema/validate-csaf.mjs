// Validates CSAF 2.0 advisories with BSI's @secvisogram/csaf-validator-lib (installed by
// scripts/setup.sh: npm ci in tests/schema): the strict CSAF 2.0 JSON schema and the standard's
// mandatory tests (module basic.js). Usage: node tests/schema/validate-csaf.mjs FILE...
// Exit 0: all valid; 1: a document is invalid (each failed test printed with its JSON pointer);
// 2: usage or unreadable file.
import { readFileSync } from "node:fs";
import validateStrict from "@secvisogram/csaf-validator-lib/validateStrict.js";
import * as basic from "@secvisogram/csaf-validator-lib/basic.js";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tests/schema/validate-csaf.mjs FILE...");
  process.exit(2);
}
let invalid = 0;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`${file}: cannot read as JSON: ${e.message}`);
    process.exit(2);
  }
  const result = await validateStrict(Object.values(basic), doc);
  if (result.isValid) {
    console.log(`${file}: valid CSAF 2.0 (strict schema and mandatory tests)`);
    continue;
  }
  invalid++;
  for (const test of result.tests.filter((t) => !t.isValid)) {
    for (const e of test.errors ?? []) {
      console.error(`${file}: ${test.name}: ${e.instancePath || "/"} ${e.message}`);
    }
  }
}
process.exit(invalid ? 1 : 0);
