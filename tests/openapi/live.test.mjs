// Live responses of a real `skintrack serve` validated against docs/openapi.json (issue 16).
//
//   node tests/openapi/live.test.mjs --skintrack build/skintrack --source .
//
// Starts the server on a fresh data directory, then runs a scenario that calls every route of the
// route table (src/service/src/api.cpp) and the dashboard routes with its main 2xx answer and at
// least one 4xx. Every answer's status must be documented for its operation, its media type must
// be the documented one, and a JSON body must pass the documented schema (ajv, pinned in
// package-lock.json). The check is stricter than the published contract in one way: an object
// schema with `properties` that says nothing of other members is closed here
// (additionalProperties: false), so that a field the server answers and the document lacks fails.
// Fails too when a route of the table has no documented operation, or was not called with a 2xx
// and a 4xx (every operation has one: a query that is not UTF-8 is 400 on every route).
// Every GET is repeated as HEAD (the same status, documented for the `head` operation, the GET's
// Content-Length, no body), and OPTIONS on every documented path must answer 204 with Allow
// listing exactly the documented methods and no CORS header, even to a cross-origin preflight.
// Exit 77 (CTest: skipped) when node_modules is absent: scripts/setup.sh installs it.
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
if (!existsSync(path.join(here, 'node_modules', 'ajv'))) {
  console.log('SKIP: tests/openapi/node_modules is absent (scripts/setup.sh runs npm ci there)');
  process.exit(77);
}
const {default: Ajv} = await import('ajv');
const {default: addFormats} = await import('ajv-formats');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const skintrack = path.resolve(option('--skintrack', 'build/skintrack'));
const source = path.resolve(option('--source', path.join(here, '..', '..')));
const doc = JSON.parse(readFileSync(path.join(source, 'docs', 'openapi.json'), 'utf8'));

// --- the route table, read from api.cpp (its one table) and the dashboard's two routes ---------
function routeTable() {
  const text = readFileSync(path.join(source, 'src', 'service', 'src', 'api.cpp'), 'utf8');
  const routes = [...text.matchAll(/\{"(GET|POST|PUT|DELETE|PATCH)", "([^"]+)", \w+, \w+, \w+\}/g)]
                     .map((m) => `${m[1]} ${m[2]}`);
  assert.ok(routes.length >= 30, `read only ${routes.length} routes from api.cpp`);
  const all = [...routes, 'GET /', 'GET /dashboard/{file}'];
  // The router answers HEAD wherever GET works.
  return [...all, ...all.filter((r) => r.startsWith('GET ')).map((r) => 'HEAD' + r.slice(3))];
}

// --- the schemas --------------------------------------------------------------------------------
const ajv = new Ajv({strict: true, allErrors: true});
addFormats(ajv);
ajv.addKeyword({keyword: 'example'});

// A copy of `schema` for ajv: component references become schema ids, and object schemas with
// properties are closed unless they say otherwise.
function forAjv(schema) {
  if (Array.isArray(schema)) return schema.map(forAjv);
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref') {
      out.$ref = v.replace('#/components/schemas/', 'skintrack:');
    } else if (k === 'properties' || k === 'patternProperties') {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, forAjv(s)]));
    } else if (k === 'example' || k === 'enum' || k === 'default' || k === 'required') {
      out[k] = v;
    } else {
      out[k] = forAjv(v);
    }
  }
  if (out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}
for (const [name, s] of Object.entries(doc.components.schemas)) {
  ajv.addSchema(forAjv(s), `skintrack:${name}`);
}
const resolve = (x, kind) => {
  while (x && x.$ref) x = doc.components[kind][x.$ref.split('/').pop()];
  return x;
};

function operationOf(method, pattern) {
  const op = doc.paths[pattern] && doc.paths[pattern][method.toLowerCase()];
  assert.ok(op, `${method} ${pattern} has no documented operation in docs/openapi.json`);
  return op;
}

const validators = new Map();
function validatorFor(key, schema) {
  if (!validators.has(key)) validators.set(key, ajv.compile(forAjv(schema)));
  return validators.get(key);
}

// --- the calls ----------------------------------------------------------------------------------
const seen = new Map();  // "METHOD pattern" -> set of statuses
let checked = 0;

function fill(pattern, params) {
  return pattern.replace(/\{(\w+)\}/g, (_, name) => {
    assert.ok(name in params, `no value for {${name}} of ${pattern}`);
    return encodeURIComponent(String(params[name]));
  });
}

// Calls the route `method pattern` and checks the answer against its documented operation.
// `expect` is the status the scenario means to provoke. Returns {status, headers, json, bytes}.
async function call(method, pattern, {params = {}, query = '', token, body, type, headers = {},
                                      expect}) {
  const op = operationOf(method, pattern);
  const url = `${server.url}${fill(pattern, params)}${query ? '?' + query : ''}`;
  const h = {...headers};
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') {
    payload = JSON.stringify(body);
    type = type || 'application/json';
  }
  if (type) h['Content-Type'] = type;
  const res = await fetch(url, {method, headers: h, body: payload});
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (method === 'GET') await headLikeGet(pattern, url, h, res, bytes);
  const where = `${method} ${url} -> ${res.status}`;
  const text = new TextDecoder().decode(bytes);
  if (expect !== undefined) assert.equal(res.status, expect, `${where}: ${text.slice(0, 300)}`);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${where}: status ${res.status} is not documented for ${op.operationId}`);
  const response = resolve(documented, 'responses');
  const mediaType = (res.headers.get('content-type') || '').split(';')[0].trim();
  let parsed = null;
  if (!response.content) {
    assert.equal(bytes.length, 0, `${where}: a body where none is documented`);
  } else {
    const media = response.content[mediaType];
    assert.ok(media, `${where}: media type '${mediaType}' is not documented ` +
                         `(${Object.keys(response.content).join(', ')})`);
    if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
      parsed = JSON.parse(text);
      const validate = validatorFor(`${op.operationId} ${res.status}`, media.schema);
      assert.ok(validate(parsed), `${where}: the body does not match the documented schema: ` +
                                      `${ajv.errorsText(validate.errors)}\n${text.slice(0, 600)}`);
    } else if (mediaType === 'image/png') {
      assert.deepEqual([...bytes.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${where}: not a PNG`);
    } else if (mediaType === 'image/jpeg') {
      assert.deepEqual([...bytes.slice(0, 2)], [0xff, 0xd8], `${where}: not a JPEG`);
    } else {
      assert.ok(bytes.length > 0, `${where}: empty ${mediaType}`);
    }
  }
  const key = `${method} ${pattern}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key).add(res.status);
  ++checked;
  return {status: res.status, headers: res.headers, json: parsed, bytes};
}

// Routes whose body counts the requests themselves: the GET before the HEAD changes it, so the
// HEAD's Content-Length is only checked to be a length (the digits of a counter may grow).
const SELF_COUNTING = new Set(['/metrics']);

// HEAD of the GET just made: the same status (the same state: nothing between them), documented
// for the `head` operation, with the GET body's Content-Length and no body.
async function headLikeGet(pattern, url, headers, got, gotBytes) {
  const op = operationOf('HEAD', pattern);
  const res = await fetch(url, {method: 'HEAD', headers});
  const bytes = new Uint8Array(await res.arrayBuffer());
  const where = `HEAD ${url} -> ${res.status}`;
  assert.equal(res.status, got.status, `${where}: the GET answered ${got.status}`);
  assert.ok(op.responses[String(res.status)],
            `${where}: status ${res.status} is not documented for ${op.operationId}`);
  assert.equal(bytes.length, 0, `${where}: a body`);
  if (SELF_COUNTING.has(pattern)) {
    assert.match(res.headers.get('content-length') ?? '', /^[0-9]+$/, `${where}: Content-Length`);
  } else if (got.status !== 304) {
    assert.equal(res.headers.get('content-length'), String(gotBytes.length),
                 `${where}: Content-Length is not the GET body's`);
  }
  assert.equal(res.headers.get('content-type'), got.headers.get('content-type'), where);
  const key = `HEAD ${pattern}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key).add(res.status);
  ++checked;
}

// OPTIONS on every documented path, as a browser's cross-origin preflight: 204, Allow = the
// documented methods and OPTIONS, no Access-Control-* header (no CORS, on purpose), no body.
async function checkOptions() {
  for (const [pattern, item] of Object.entries(doc.paths)) {
    const url = server.url + pattern.replace(/\{\w+\}/g, '1');
    const res = await fetch(url, {method: 'OPTIONS',
                                  headers: {'Origin': 'https://elsewhere.example',
                                            'Access-Control-Request-Method': 'GET'}});
    const bytes = new Uint8Array(await res.arrayBuffer());
    const where = `OPTIONS ${url} -> ${res.status}`;
    assert.equal(res.status, 204, where);
    assert.equal(bytes.length, 0, `${where}: a body`);
    const allowed = (res.headers.get('allow') || '').split(',').map((m) => m.trim()).sort();
    const documented = [...Object.keys(item).map((m) => m.toUpperCase()), 'OPTIONS'].sort();
    assert.deepEqual(allowed, documented, `${where}: Allow is not the documented methods`);
    const cors = [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
    assert.deepEqual(cors, [], `${where}: CORS headers`);
    ++checked;
  }
}

// --- the server ---------------------------------------------------------------------------------
const work = mkdtempSync(path.join(tmpdir(), 'skintrack-openapi-'));
const data = path.join(work, 'data');
let server = null;

async function startServer() {
  const child = spawn(skintrack, ['serve', '--data-dir', data, '--port', '0', '--quiet'],
                      {stdio: ['ignore', 'pipe', 'inherit']});
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 20000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/serving (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {child, url};
}

// SIGTERM, then wait for the exit: a worker still processing a capture writes under the data
// directory until then, and removing it underneath made the clean-up fail (ENOTEMPTY).
async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  await exited;
  clearTimeout(timer);
}

// A mask document for a capture of w x h: rows [y0, y1) of columns [x0, x1) marked, as COCO run
// lengths down each column.
function rectDocument(w, h, [x0, y0, x1, y1]) {
  const counts = [];
  let run = 0;
  let marked = false;
  for (let x = 0; x < w; ++x) {
    for (let y = 0; y < h; ++y) {
      const here = x >= x0 && x < x1 && y >= y0 && y < y1;
      if (here !== marked) {
        counts.push(run);
        run = 0;
        marked = here;
      }
      ++run;
    }
  }
  counts.push(run);
  return {masks: {psoriasis_plaque: {size: [h, w], counts}},
          labels: {diagnosis: 'psoriasis', erythema: 2}};
}

// --- the scenario -------------------------------------------------------------------------------
async function scenario() {
  const phantom = path.join(work, 'phantom');
  execFileSync(skintrack, ['phantom', '--out', phantom, '--condition', 'psoriasis', '--visits', '2',
                           '--size', '320x240', '--seed', '5', '--jpeg', '90'], {stdio: 'ignore'});
  const visit = (k) => new Uint8Array(readFileSync(path.join(phantom, `visit-${k}.jpg`)));
  const admin = execFileSync(skintrack, ['token', 'create', '--data-dir', data, '--role', 'admin'])
                    .toString().trim().split('\n').pop();
  server = await startServer();

  // Status routes and the dashboard: no token.
  await call('GET', '/healthz', {expect: 200});
  await call('GET', '/readyz', {expect: 200});
  await call('GET', '/metrics', {expect: 200});
  await call('GET', '/', {expect: 200});
  await call('GET', '/dashboard/{file}', {params: {file: 'app.js'}, expect: 200});
  await call('GET', '/dashboard/{file}', {params: {file: 'missing.js'}, expect: 404});
  // Their one 4xx: the router refuses a query that is not UTF-8 before any route runs.
  for (const p of ['/healthz', '/readyz', '/metrics', '/']) {
    await call('GET', p, {query: 'x=%ff', expect: 400});
  }

  // Patients and tokens.
  const patients = '/v1/patients';
  await call('POST', patients, {token: admin, body: {id: 'OA-01', fitzpatrick: 3, age_band: '40-49'},
                                expect: 201});
  await call('POST', patients, {token: admin, body: {id: 'OA-01'}, expect: 409});
  await call('POST', patients, {token: admin, body: {fitzpatrick: 3}, expect: 400});
  await call('POST', patients, {body: {id: 'OA-02'}, expect: 401});
  await call('POST', patients, {token: admin, body: 'x'.repeat(1100 * 1024), type: 'application/json',
                                expect: 413});
  const tokens = '/v1/tokens';
  const make = async (role, extra = {}) =>
    (await call('POST', tokens, {token: admin, body: {role, label: role, ...extra}, expect: 201})).json;
  const clinician = (await make('clinician')).token;
  const coordinator = (await make('coordinator')).token;
  const device = (await make('device', {patients: ['OA-01']})).token;
  const ann1 = await make('annotator');
  const ann2 = await make('annotator');
  const ann3 = await make('annotator');
  await call('POST', tokens, {token: admin, body: {role: 'superuser'}, expect: 400});
  await call('POST', tokens, {token: clinician, body: {role: 'admin'}, expect: 403});
  await call('GET', tokens, {token: admin, expect: 200});
  await call('GET', tokens, {token: clinician, expect: 403});
  const spare = await make('coordinator');
  await call('DELETE', '/v1/tokens/{id}', {params: {id: spare.id}, token: admin, expect: 200});
  await call('DELETE', '/v1/tokens/{id}', {params: {id: 'not-hex'}, token: admin, expect: 400});
  await call('DELETE', '/v1/tokens/{id}', {params: {id: '0123456789abcdef'}, token: admin,
                                           expect: 404});
  await call('GET', patients, {token: admin, expect: 200});
  await call('GET', patients, {token: coordinator, expect: 200});
  await call('GET', patients, {token: device, expect: 403});
  // Cursor pagination: pages of one, then the cursor of the last page is null.
  await call('POST', patients, {token: admin, body: {id: 'OA-02'}, expect: 201});
  const page1 = (await call('GET', patients, {query: 'limit=1', token: admin, expect: 200})).json;
  assert.equal(page1.patients.length, 1);
  assert.equal(typeof page1.next, 'string', JSON.stringify(page1));
  const page2 = (await call('GET', patients, {query: `limit=1&after=${page1.next}`, token: admin,
                                              expect: 200})).json;
  assert.equal(page2.next, null, JSON.stringify(page2));
  assert.notEqual(page2.patients[0].id, page1.patients[0].id);
  await call('GET', patients, {query: 'limit=0', token: admin, expect: 400});
  await call('GET', patients, {query: 'after=not*a*cursor', token: admin, expect: 400});
  const tokenPage = (await call('GET', tokens, {query: 'limit=2', token: admin, expect: 200})).json;
  assert.equal(tokenPage.tokens.length, 2);
  await call('GET', tokens, {query: `limit=2&after=${tokenPage.next}`, token: admin, expect: 200});
  await call('GET', tokens, {query: 'limit=1001', token: admin, expect: 400});

  // Captures: the baseline by a clinician, the follow-up by the device.
  const push = '/v1/patients/{patient}/sites/{site}/captures';
  const at = (day) => `condition=psoriasis&captured_at=2026-03-${day}T09:00:00Z&wait=true`;
  const where = {patient: 'OA-01', site: 'left-forearm'};
  const base = (await call('POST', push, {params: where, query: at('02') + '&visit=week-0',
                                          token: clinician, body: visit(0), type: 'image/jpeg',
                                          expect: 201})).json;
  assert.equal(base.status, 'processed', JSON.stringify(base));
  await call('POST', push, {params: where, query: at('02') + '&visit=week-0', token: clinician,
                            body: visit(0), type: 'image/jpeg', expect: 200});
  await call('POST', push, {params: where, query: at('03') + '&visit=week-0', token: clinician,
                            body: visit(0), type: 'image/jpeg', expect: 409});
  await call('POST', push, {params: where, query: at('02'), token: clinician,
                            body: 'GIF89a', type: 'image/gif', expect: 415});
  await call('POST', push, {params: where, query: 'captured_at=2026-03-02T09:00:00Z',
                            token: clinician, body: visit(0), type: 'image/jpeg', expect: 400});
  await call('POST', push, {params: {patient: 'OA-99', site: 'left-forearm'}, query: at('02'),
                            token: device, body: visit(0), type: 'image/jpeg', expect: 404});
  const follow = (await call('POST', push, {params: where, query: at('30') + '&visit=week-4',
                                            token: device, body: visit(1), type: 'image/jpeg',
                                            expect: 201})).json;
  const b = {id: base.id};
  const f = {id: follow.id};
  const missing = {id: 999999};

  const capture = '/v1/captures/{id}';
  await call('GET', capture, {params: f, token: clinician, expect: 200});
  await call('GET', capture, {params: b, token: coordinator, expect: 200});
  await call('GET', capture, {params: {id: 'abc'}, token: clinician, expect: 400});
  await call('GET', capture, {params: missing, token: clinician, expect: 404});
  await call('GET', capture, {params: b, token: device, expect: 403});
  await call('GET', capture, {params: b, expect: 401});

  const image = (await call('GET', `${capture}/image`, {params: b, token: clinician, expect: 200}));
  await call('GET', `${capture}/image`, {params: b, token: clinician, expect: 304,
                                         headers: {'If-None-Match': image.headers.get('etag')}});
  await call('GET', `${capture}/image`, {params: b, token: ann3.token, expect: 403});
  await call('GET', `${capture}/image`, {params: missing, token: clinician, expect: 404});
  const mask = await call('GET', `${capture}/mask.png`, {params: b, token: clinician, expect: 200});
  await call('GET', `${capture}/mask.png`, {params: b, token: coordinator, expect: 403});
  await call('GET', `${capture}/overlay.png`, {params: b, query: 'max_side=128', token: clinician,
                                               expect: 200});
  await call('GET', `${capture}/overlay.png`, {params: b, query: 'max_side=5', token: clinician,
                                               expect: 400});
  await call('GET', `${capture}/aligned.png`, {params: f, query: 'overlay=true', token: clinician,
                                               expect: 200});
  await call('GET', `${capture}/aligned.png`, {params: missing, token: clinician, expect: 404});
  await call('GET', `${capture}/change.png`, {params: f, token: admin, expect: 200});
  await call('GET', `${capture}/change.png`, {params: b, token: coordinator, expect: 403});

  const series = '/v1/patients/{patient}/timeseries';
  await call('GET', series, {params: {patient: 'OA-01'}, token: clinician, expect: 200});
  const points = (await call('GET', series, {params: {patient: 'OA-01'}, query: 'limit=1',
                                             token: clinician, expect: 200})).json;
  assert.equal(points.points.length, 1);
  const rest = (await call('GET', series, {params: {patient: 'OA-01'},
                                           query: `limit=1&after=${points.next}`, token: clinician,
                                           expect: 200})).json;
  assert.deepEqual([rest.points.length, rest.next], [1, null]);
  await call('GET', series, {params: {patient: 'OA-01'}, query: 'limit=x', token: clinician,
                             expect: 400});
  await call('GET', series, {params: {patient: 'OA-01'}, query: 'site=nowhere', token: clinician,
                             expect: 404});
  await call('GET', series, {params: {patient: 'OA-01'}, query: 'site=bad%20site', token: clinician,
                             expect: 400});
  await call('GET', series, {params: {patient: 'OA-99'}, token: clinician, expect: 404});
  const response = '/v1/patients/{patient}/response';
  await call('GET', response, {params: {patient: 'OA-01'}, token: clinician, expect: 200});
  const subject = (await call('GET', capture, {params: b, token: coordinator})).json.patient;
  await call('GET', response, {params: {patient: subject}, token: coordinator, expect: 200});
  await call('GET', response, {params: {patient: 'OA-01'}, query: 'condition=eczema',
                               token: clinician, expect: 400});

  // Clinician input.
  await call('PUT', `${capture}/baseline`, {params: b, token: clinician, expect: 200});
  await call('PUT', `${capture}/baseline`, {params: missing, token: clinician, expect: 404});
  await call('PUT', `${capture}/assessment`, {params: f, token: clinician,
                                              body: {erythema: 2, induration: 1, note: 'dry'},
                                              expect: 201});
  await call('PUT', `${capture}/assessment`, {params: f, token: clinician, body: {erythema: 9},
                                              expect: 400});
  await call('PUT', `${capture}/mask`, {params: b, token: clinician, body: mask.bytes,
                                        type: 'image/png', expect: 201});
  await call('PUT', `${capture}/mask`, {params: b, token: clinician, body: visit(0),
                                        type: 'image/jpeg', expect: 415});

  // Annotation: assignments, two annotators, a review, the queues, the consensus, the export.
  const assignments = `${capture}/assignments`;
  await call('POST', assignments, {params: b, token: admin,
                                   body: {annotators: [ann1.id, ann2.id]}, expect: 200});
  await call('POST', assignments, {params: b, token: admin, body: {annotators: ['nobody']},
                                   expect: 400});
  await call('GET', assignments, {params: b, token: clinician, expect: 200});
  await call('GET', assignments, {params: b, token: ann1.token, expect: 403});
  await call('GET', '/v1/annotation-queue', {token: ann1.token, expect: 200});
  await call('GET', '/v1/annotation-queue', {query: 'limit=0', token: ann1.token, expect: 400});
  const mine = `${capture}/annotations/mine`;
  const [w, h] = [base.width, base.height];
  const doc1 = rectDocument(w, h, [80, 60, 200, 160]);
  await call('PUT', mine, {params: b, token: ann1.token,
                           body: {action: 'save', expected_version: 0, content: doc1}, expect: 201});
  const sub1 = (await call('PUT', mine, {params: b, token: ann1.token,
                                         body: {action: 'submit', expected_version: 1,
                                                content: doc1},
                                         expect: 201})).json;
  await call('PUT', mine, {params: b, token: ann1.token, body: {action: 'save', expected_version: 1},
                           expect: 409});
  await call('PUT', mine, {params: b, token: ann1.token, body: {action: 'publish',
                                                               expected_version: 2}, expect: 400});
  await call('PUT', mine, {params: b, token: ann2.token,
                           body: {action: 'submit', expected_version: 0,
                                  content: rectDocument(w, h, [90, 70, 210, 170])},
                           expect: 201});
  await call('GET', '/v1/review-queue', {token: clinician, expect: 200});
  await call('GET', '/v1/review-queue', {token: ann1.token, expect: 403});
  await call('GET', `${capture}/annotations`, {params: b, token: clinician, expect: 200});
  await call('GET', `${capture}/annotations`, {params: b, token: ann3.token, expect: 403});
  const versions = '/v1/annotations/{annotation_id}/versions';
  const a1 = {annotation_id: sub1.annotation_id};
  await call('GET', versions, {params: a1, token: ann1.token, expect: 200});
  await call('GET', versions, {params: a1, token: ann2.token, expect: 403});
  await call('GET', versions, {params: {annotation_id: 999999}, token: clinician, expect: 404});
  const review = '/v1/annotations/{annotation_id}/review';
  await call('POST', review, {params: a1, token: clinician,
                              body: {decision: 'accepted', expected_version: 1}, expect: 409});
  await call('POST', review, {params: a1, token: clinician,
                              body: {decision: 'accepted', expected_version: 2, note: 'good'},
                              expect: 201});
  await call('POST', review, {params: a1, token: ann1.token,
                              body: {decision: 'accepted', expected_version: 3}, expect: 403});
  const consensus = `${capture}/consensus`;
  await call('GET', consensus, {params: b, token: clinician, expect: 404});
  await call('POST', consensus, {params: f, token: clinician, body: {method: 'majority'},
                                 expect: 409});
  await call('POST', consensus, {params: b, token: clinician, body: {method: 'majority'},
                                 expect: 201});
  await call('POST', consensus, {params: b, token: clinician, body: {method: 'vote'}, expect: 400});
  await call('GET', consensus, {params: b, token: clinician, expect: 200});
  await call('GET', '/v1/annotations/export', {token: coordinator, expect: 200});
  await call('GET', '/v1/annotations/export', {query: 'condition=eczema', token: admin,
                                               expect: 400});
  await call('GET', '/v1/annotations/export', {token: ann1.token, expect: 403});
  const agreement = '/v1/annotations/agreement';
  await call('GET', agreement, {token: clinician, expect: 200});
  await call('GET', agreement, {query: 'condition=psoriasis', token: admin, expect: 200});
  await call('GET', agreement, {query: 'condition=eczema', token: admin, expect: 400});
  await call('GET', agreement, {token: coordinator, expect: 403});

  // The cohort exports: readers get them, devices and annotators do not.
  for (const file of ['cohort.csv', 'rs.csv', 'rs-define.json', 'fhir']) {
    const route = `/v1/exports/${file}`;
    await call('GET', route, {token: coordinator, expect: 200});
    await call('GET', route, {token: device, expect: 403});
    await call('GET', route, {token: ann1.token, expect: 403});
    await call('GET', route, {expect: 401});
  }
}

// --- coverage -----------------------------------------------------------------------------------
function checkCoverage() {
  const problems = [];
  for (const route of routeTable()) {
    const [method, pattern] = route.split(' ');
    const op = doc.paths[pattern] && doc.paths[pattern][method.toLowerCase()];
    if (!op) {
      problems.push(`${route}: in the route table, not in docs/openapi.json`);
      continue;
    }
    const statuses = [...(seen.get(route) || [])];
    if (!statuses.some((s) => s >= 200 && s < 300)) problems.push(`${route}: no 2xx answer checked`);
    if (!statuses.some((s) => s >= 400 && s < 500)) {
      problems.push(`${route}: no 4xx answer checked`);
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
}

try {
  await scenario();
  await checkOptions();
  checkCoverage();
  console.log(`[openapi] ${checked} live answers of ${seen.size} operations matched ` +
              'docs/openapi.json');
} finally {
  if (server) await stopServer(server.child);
  rmSync(work, {recursive: true, force: true});
}
