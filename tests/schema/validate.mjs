// Validates CycloneDX 1.6 JSON documents against the schema that the npm package
// @cyclonedx/cyclonedx-library ships (installed by scripts/setup.sh: npm ci in tests/schema).
// Usage: node tests/schema/validate.mjs FILE...   Exit 0: all valid; 1: a document is invalid
// (each error printed with the file and the JSON pointer); 2: usage or unreadable file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const require = createRequire(import.meta.url);
const schemaDir = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")),
                       "res", "schema");
const load = (name) => JSON.parse(readFileSync(join(schemaDir, name), "utf8"));

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tests/schema/validate.mjs FILE...");
  process.exit(2);
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
// ajv-formats has no internationalised formats; accept them (their ASCII forms are checked
// wherever the schema uses uri-reference / email).
ajv.addFormat("iri-reference", true);
ajv.addFormat("idn-email", true);
// The 1.6 schema refers to its companions by file name relative to its own $id; register each
// companion under that resolved address (their own $id names the unversioned file).
const base = "http://cyclonedx.org/schema/";
for (const name of ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]) {
  const schema = load(name);
  delete schema.$id;
  ajv.addSchema(schema, base + name);
}
const validate = ajv.compile(load("bom-1.6.SNAPSHOT.schema.json"));

let invalid = 0;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`${file}: cannot read as JSON: ${e.message}`);
    process.exit(2);
  }
  if (doc.specVersion !== "1.6") {
    console.error(`${file}: specVersion is ${JSON.stringify(doc.specVersion)}, expected "1.6"`);
    invalid++;
    continue;
  }
  if (validate(doc)) {
    console.log(`${file}: valid CycloneDX 1.6`);
  } else {
    invalid++;
    for (const e of validate.errors) {
      console.error(`${file}: ${e.instancePath || "/"} ${e.message}`);
    }
  }
}
process.exit(invalid ? 1 : 0);
