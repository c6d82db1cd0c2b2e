// docs/openapi.json through Redocly's linter (@redocly/cli, pinned in package-lock.json) with its
// default `recommended` rules and no ignore file: 0 errors, 0 warnings and 0 ignored problems.
//
//   node tests/openapi/lint.test.mjs --source .
//
// Exit 77 (CTest: skipped) when node_modules is absent: scripts/setup.sh runs npm ci here.
import {spawnSync} from 'node:child_process';
import {existsSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const redocly = path.join(here, 'node_modules', '.bin', 'redocly');
if (!existsSync(redocly)) {
  console.log('SKIP: tests/openapi/node_modules is absent (scripts/setup.sh runs npm ci there)');
  process.exit(77);
}
const i = process.argv.indexOf('--source');
const source = path.resolve(i >= 0 ? process.argv[i + 1] : path.join(here, '..', '..'));
const spec = path.join(source, 'docs', 'openapi.json');

// Run from this folder, which holds no redocly.yaml: the default rules, nothing relaxed.
const run = (format) => spawnSync(redocly, ['lint', spec, `--format=${format}`],
                                  {cwd: here, encoding: 'utf8', env: {...process.env, REDOCLY_TELEMETRY: 'off',
                                                                      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true'}});
const result = run('json');
let totals;
try {
  totals = JSON.parse(result.stdout).totals;
} catch (err) {
  console.error(`redocly lint gave no JSON report (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  process.exit(1);
}
console.log(`[openapi] redocly lint: ${totals.errors} errors, ${totals.warnings} warnings, ` +
            `${totals.ignored} ignored`);
if (totals.errors || totals.warnings || totals.ignored) {
  console.error(run('stylish').stdout);
  process.exit(1);
}
