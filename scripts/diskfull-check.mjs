#!/usr/bin/env node
// Opt-in check of the service on a really full disk (issue 13, item 9); needs root for a tmpfs,
// so it is not part of scripts/test.sh (the default tests use RLIMIT_FSIZE and a fault-injecting
// store instead).
//
//   sudo node scripts/diskfull-check.mjs [--skintrack build/skintrack] [--size 2m] [--captures 16]
//
// Mounts a tmpfs of --size, serves a data directory on it with one worker, pushes distinct phantom
// captures until writes fail, fills what is left with a file, and checks: every refusal is 507
// `storage_full` with no path in the body (the detail is in the server's stderr); so is
// POST /v1/patients when its row does not fit; no capture is marked failed; a capture left
// `processing` (its worker could not even write the release) is named on stderr and released
// within seconds of the tmpfs being grown (space is back); then every acknowledged capture is
// processed without its storage-full attempts counted, new pushes are accepted and
// `skintrack db check` passes. Prints the figures; exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const skintrack = path.resolve(option('--skintrack', path.join(root, 'build/skintrack')));
const size = option('--size', '2m');
const pushes = Number(option('--captures', '16'));
if (process.getuid() !== 0) {
  console.error('diskfull-check: needs root to mount a tmpfs (sudo node scripts/diskfull-check.mjs)');
  process.exit(2);
}

const work = mkdtempSync(path.join(tmpdir(), 'skintrack-diskfull-'));
const mnt = path.join(work, 'mnt');
const data = path.join(mnt, 'data');
const phantom = path.join(work, 'phantom');
const sh = (cmd, args, opts) => execFileSync(cmd, args, Object.assign({encoding: 'utf8'}, opts));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text) => console.log(`[diskfull] ${text}`);
let server = null;
let stderr = '';

async function startServer() {
  const child = spawn(skintrack, ['serve', '--data-dir', data, '--port', '0', '--workers', '1',
                                  '--quiet'], {stdio: ['ignore', 'pipe', 'pipe']});
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 20000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/serving (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  return {child, url};
}

async function call(url, token, method, body, contentType) {
  const res = await fetch(url, {method, body, headers: Object.assign(
      {Authorization: `Bearer ${token}`}, contentType ? {'Content-Type': contentType} : {})});
  const text = await res.text();
  return {status: res.status, text, headers: res.headers};
}

function checkRefusal(r, what) {
  assert.equal(r.status, 507, `${what}: ${r.status} ${r.text}`);
  const body = JSON.parse(r.text);
  assert.equal(body.error.code, 'storage_full', what);
  assert.ok(!r.text.includes('/'), `${what}: a path in the body: ${r.text}`);
}

async function main() {
  log(`phantom captures, tmpfs of ${size} at ${mnt}`);
  sh(skintrack, ['phantom', '--out', phantom, '--condition', 'psoriasis', '--visits',
                 String(pushes), '--size', '480x360', '--seed', '5'], {stdio: 'ignore'});
  sh('mkdir', ['-p', mnt]);
  sh('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  sh(skintrack, ['patient', 'add', '--data-dir', data, '--id', 'P001', '--fitzpatrick', '3']);
  const device = sh(skintrack, ['token', 'create', '--data-dir', data, '--role', 'device',
                                '--patient', 'P001']).trim().split('\n').pop();
  const admin = sh(skintrack, ['token', 'create', '--data-dir', data, '--role', 'admin'])
                    .trim().split('\n').pop();
  server = await startServer();
  const api = server.url;

  const acknowledged = [];
  let refused = 0;
  for (let k = 0; k < pushes; ++k) {
    const day = String(k + 1).padStart(2, '0');
    const r = await call(`${api}/v1/patients/P001/sites/left-forearm/captures?condition=psoriasis` +
                         `&captured_at=2026-01-${day}T09:00:00Z`, device, 'POST',
                         readFileSync(path.join(phantom, `visit-${k}.png`)), 'image/png');
    if (r.status === 201) {
      acknowledged.push(JSON.parse(r.text).id);
    } else {
      checkRefusal(r, `push ${k}`);
      ++refused;
    }
  }
  const df = sh('df', ['-k', mnt]).trim().split('\n').pop();
  log(`pushes: ${acknowledged.length} acknowledged, ${refused} answered 507; df: ${df}`);
  assert.ok(refused > 0, 'the tmpfs never filled: use a smaller --size or more --captures');
  // A capture is refused while a few KB may be left; another process takes the rest.
  try {
    sh('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=4096'], {stdio: 'ignore'});
  } catch (e) { /* ENOSPC: the point */ }
  log(`filler written; df: ${sh('df', ['-k', mnt]).trim().split('\n').pop()}`);
  // SQLite may still fit a small row into WAL pages it allocated before: 201 is then correct.
  const patient = await call(`${api}/v1/patients`, admin, 'POST',
                             JSON.stringify({id: 'P002', fitzpatrick: 3}), 'application/json');
  if (patient.status !== 201) checkRefusal(patient, 'POST /v1/patients');
  log(`POST /v1/patients on the full disk: ${patient.status} ${patient.text}`);

  // A worker without room for its results gives the capture back at once (attempt not counted).
  // When even that row update does not fit, the lease can only be written once space is back:
  // the worker must say so on stderr and retry, not sit silently on the lease until it expires.
  const points = async () => JSON.parse(
      (await call(`${api}/v1/patients/P001/timeseries`, admin, 'GET')).text).points;
  await sleep(8000);
  const full = await points();
  const count = (list, status) => list.filter((p) => p.status === status).length;
  const processing = full.filter((p) => p.status === 'processing');
  log(`while full: ${count(full, 'processed')} processed, ${count(full, 'queued')} queued ` +
      `(${full.filter((p) => /no room|full/.test(p.last_error || '')).length} with a storage-full ` +
      `error), ${count(full, 'failed')} failed, ${processing.length} processing; attempts ` +
      JSON.stringify(full.map((p) => p.attempts)));
  assert.equal(count(full, 'failed'), 0, 'a full disk marked a capture failed');
  for (const p of processing) {
    assert.ok(stderr.includes(`capture ${p.id}: cannot record its outcome`),
              `capture ${p.id} stayed processing without a word on stderr`);
  }
  const workerLines = stderr.split('\n').filter((l) => l.startsWith('skintrack: worker:'));
  const serverErrors = stderr.split('\n').filter((l) => l.includes('"server_error"'));
  log(`server stderr: ${serverErrors.length} server_error lines (with paths), ` +
      `${workerLines.length} worker lines:\n  ${workerLines.join('\n  ')}`);
  assert.ok(serverErrors.every((l) => JSON.parse(l).status === 507));

  rmSync(path.join(mnt, 'filler'));
  sh('mount', ['-o', 'remount,size=64m', mnt]);
  const t0 = Date.now();
  let released = null;
  for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(100)) {
    const now = await points();
    if (now.every((p) => p.status !== 'processing' || !processing.some((q) => q.id === p.id))) {
      released = (Date.now() - t0) / 1000;
      break;
    }
  }
  assert.ok(released !== null, 'a lease was not released within 10 s of space coming back');
  if (processing.length) log(`space back (64m): leases released after ${released.toFixed(1)} s`);
  let done = null;
  for (const deadline = Date.now() + 150000; Date.now() < deadline; await sleep(1000)) {
    const now = await points();
    if (now.length === acknowledged.length && now.every((p) => p.status === 'processed')) {
      done = now;
      break;
    }
  }
  assert.ok(done, 'not every acknowledged capture was processed after space came back: ' +
                  JSON.stringify(await points()));
  log(`all ${done.length} acknowledged captures processed ${((Date.now() - t0) / 1000).toFixed(1)} ` +
      `s after space came back; attempts ${JSON.stringify(done.map((p) => p.attempts))}`);
  assert.ok(done.every((p) => p.attempts <= 2), 'storage-full attempts were counted');
  const again = await call(`${api}/v1/patients/P001/sites/left-forearm/captures?condition=psoriasis` +
                           `&captured_at=2026-02-01T09:00:00Z`, device, 'POST',
                           readFileSync(path.join(phantom, `visit-${pushes - 1}.png`)), 'image/png');
  assert.ok(again.status === 201 || again.status === 200, `push after space came back: ${again.status}`);
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  server = null;
  log('db check: ' + sh(skintrack, ['db', 'check', '--data-dir', data]).trim().split('\n').join('; '));
  log('passed');
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error('[diskfull] FAILED:', err && err.stack ? err.stack : err);
  console.error('[diskfull] server stderr (last 3000 bytes):\n' + stderr.slice(-3000));
} finally {
  if (server) {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  try { sh('umount', [mnt]); } catch (e) { /* not mounted */ }
  rmSync(work, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
