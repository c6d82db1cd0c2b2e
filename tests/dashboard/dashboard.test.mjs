// The dashboard in a real headless browser (Debian's Chromium driven by playwright-core).
//
//   node tests/dashboard/dashboard.test.mjs --skintrack build/skintrack --artefacts DIR
//
// Generates a three-visit psoriasis phantom, starts `skintrack serve` on a fresh data directory,
// pushes the captures over HTTP, then as a clinician in the browser: signs in with a token, opens
// the patient, checks that the PASI chart has one point per visit with the API's values, loads
// the baseline and the aligned visit, toggles the lesion overlay, the change map and the blend
// view, and submits grades through the form, which must show up as a new version of the score;
// then checks that each mask names the segmenter and model that made it (classical, the patient
// model after a corrected baseline mask, clinician-corrected).
// A screenshot goes to DIR/dashboard.png (DIR/dashboard-failure.png when a step fails).
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

let chromium;
try {
  ({chromium} = await import('playwright-core'));
} catch (err) {
  console.error('playwright-core is not installed in tests/dashboard: run scripts/setup.sh ' +
                '(it runs npm ci there).\n' + err.message);
  process.exit(1);
}

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const skintrack = path.resolve(option('--skintrack', 'build/skintrack'));
const artefacts = path.resolve(option('--artefacts', 'build/test-artefacts'));
const chromiumPath = process.env.SKINTRACK_CHROMIUM || '/usr/bin/chromium';
mkdirSync(artefacts, {recursive: true});

const work = mkdtempSync(path.join(tmpdir(), 'skintrack-dashboard-'));
const data = path.join(work, 'data');
const phantomDir = path.join(work, 'phantom');
let server = null;
let context = null;
let page = null;

function step(text) {
  console.log(`[dashboard] ${text}`);
}

async function startServer() {
  const child = spawn(skintrack, ['serve', '--data-dir', data, '--port', '0', '--quiet'],
                      {stdio: ['ignore', 'pipe', 'inherit']});
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
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return {child, url};
}

async function call(url, token, method, body, contentType) {
  const res = await fetch(url, {
    method,
    headers: Object.assign({Authorization: `Bearer ${token}`},
                           contentType ? {'Content-Type': contentType} : {}),
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function main() {
  step('phantom series and service');
  execFileSync(skintrack, ['phantom', '--out', phantomDir, '--condition', 'psoriasis',
                           '--visits', '3', '--size', '640x480', '--seed', '21',
                           '--fitzpatrick', '3', '--jpeg', '90'], {stdio: 'ignore'});
  const admin = execFileSync(skintrack, ['token', 'create', '--data-dir', data, '--role', 'admin'])
                    .toString().trim().split('\n').pop();
  server = await startServer();
  const api = server.url;
  await call(`${api}/v1/patients`, admin, 'POST', JSON.stringify({id: 'DASH-01', fitzpatrick: 3}),
             'application/json');
  const clinician = (await call(`${api}/v1/tokens`, admin, 'POST',
                                JSON.stringify({role: 'clinician', label: 'dashboard test'}),
                                'application/json')).token;
  const captures = [];
  for (let k = 0; k < 3; ++k) {
    const when = `2026-0${1 + 2 * k}-10T09:00:00Z`;
    const c = await call(`${api}/v1/patients/DASH-01/sites/left-forearm/captures?condition=psoriasis` +
                         `&captured_at=${when}&visit=week-${8 * k}&wait=true`,
                         clinician, 'POST', readFileSync(path.join(phantomDir, `visit-${k}.jpg`)),
                         'image/jpeg');
    assert.equal(c.status, 'processed', `capture ${k} was not processed: ${JSON.stringify(c)}`);
    captures.push(c.id);
  }
  const response = await call(`${api}/v1/patients/DASH-01/response`, clinician, 'GET');
  const visits = response.conditions[0].visits;
  assert.equal(visits.length, 3);

  step(`browser (${chromiumPath})`);
  context = await chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1360, height: 1000},
  });
  page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });

  step('sign in: a wrong token is refused, the clinician token is accepted');
  await page.goto(`${api}/`);
  await page.fill('#token', 'not-a-token');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:has-text("Sign-in failed")');
  pageErrors.length = 0;  // the browser logs the refused request (401) as a console error
  await page.fill('#token', clinician);
  await page.click('#login-submit');
  await page.waitForSelector('#patients tr[data-patient="DASH-01"]');

  step('patient view: one chart point per visit, with the API\'s PASI');
  await page.click('#patients a.patient-link:text-is("DASH-01")');
  await page.waitForSelector('#chart-pasi');
  const points = await page.$$eval('#chart-pasi circle.point',
                                   (els) => els.map((e) => Number(e.dataset.value)));
  assert.equal(points.length, visits.length, 'one PASI point per visit');
  visits.forEach((v, i) => assert.ok(Math.abs(points[i] - v.pasi) < 1e-9, `PASI of ${v.visit}`));
  assert.equal(await page.locator('#chart-pasi .threshold').count(), 2, 'PASI75 and PASI90 lines');
  assert.equal(await page.locator('#chart-bsa circle.point').count(), visits.length);
  assert.equal(await page.locator('#visits-psoriasis tbody tr').count(), visits.length);
  const sitePoints = await page.$$eval('[id="chart-site-left-forearm-psoriasis"] circle.point',
                                       (els) => els.map((e) => Number(e.dataset.value)));
  assert.equal(sitePoints.length, captures.length, 'one site point per capture');
  for (let k = 0; k < captures.length; ++k) {
    const c = await call(`${api}/v1/captures/${captures[k]}`, clinician, 'GET');
    assert.ok(Math.abs(sitePoints[k] - 100 * c.results.measurements.value) < 1e-9);
  }

  step('image viewer: baseline and aligned visit, overlay, change map, blend');
  const last = captures[captures.length - 1];
  await page.click(`a.capture-chip[data-capture="${last}"]`);
  await page.waitForSelector(`#capture-panel h2:has-text("capture ${last}")`);
  const loaded = async (selector, srcPart) => {
    await page.waitForFunction(([sel, part]) => {
      const img = document.querySelector(sel);
      return img && img.dataset.loaded === 'true' && img.dataset.src.includes(part) &&
             img.complete && img.naturalWidth > 0;
    }, [selector, srcPart], {timeout: 20000});
  };
  await loaded('#img-baseline', `/v1/captures/${captures[0]}/aligned.png`);
  await loaded('#img-visit', `/v1/captures/${last}/aligned.png`);
  const size = await page.$eval('#img-visit', (img) => [img.naturalWidth, img.naturalHeight]);
  assert.deepEqual(size, [640, 480], 'the aligned visit is in the baseline frame');
  await page.check('#toggle-overlay');
  await loaded('#img-visit', 'overlay=true');
  await loaded('#img-baseline', `/v1/captures/${captures[0]}/overlay.png`);
  await page.check('#toggle-change');
  await loaded('#img-visit', `/v1/captures/${last}/change.png`);
  assert.ok(await page.isVisible('#change-legend'));
  await page.check('#mode-blend');
  await page.waitForSelector('#stage.blend #img-visit.top');
  await page.fill('#blend', '30');
  assert.equal(await page.$eval('#img-visit', (img) => img.style.opacity), '0.3');
  await page.uncheck('#toggle-change');
  await page.check('#mode-side');
  await loaded('#img-visit', 'overlay=true');
  const registration = await page.textContent('#registration-state');
  assert.match(registration, /Aligned\s*yes/);

  step('clinician grades through the form appear as a new version');
  const versionOf = (name) =>
      page.textContent(`#results-table tr[data-name="${name}"] td.version`);
  const before = Number(await versionOf('pasi_site'));
  assert.match(await page.textContent('#signs tr[data-sign="induration"]'), /imputed/);
  await page.selectOption('#grade-erythema', '3');
  await page.selectOption('#grade-induration', '2');
  await page.fill('#grade-note', 'dashboard test grades');
  await page.click('#grade-submit');
  await page.waitForSelector('#flash:has-text("assessment version 1")');
  assert.equal(Number(await versionOf('pasi_site')), before + 1, 'pasi_site got a new version');
  assert.match(await page.textContent('#signs tr[data-sign="induration"]'), /clinician/);
  assert.match(await page.textContent('#signs tr[data-sign="erythema"]'), /^erythema3/);
  assert.match(await page.textContent('#assessment-table'), /dashboard test grades/);
  const stored = await call(`${api}/v1/captures/${last}`, clinician, 'GET');
  assert.equal(stored.assessments.length, 1);
  assert.equal(stored.results.pasi_site.version, before + 1);
  assert.equal(stored.results.pasi_site.payload.pasi.regions[0].induration.provenance, 'clinician');
  // The chart reloads with the re-scored visit.
  await page.waitForSelector('#chart-pasi');
  const after = await call(`${api}/v1/patients/DASH-01/response`, clinician, 'GET');
  const lastPoint = await page.$$eval('#chart-pasi circle.point',
                                      (els) => Number(els[els.length - 1].dataset.value));
  assert.equal(lastPoint, after.conditions[0].visits[2].pasi);

  step('segmentation provenance: each mask names its segmenter and model');
  const maskText = (name) => page.textContent(`#segmentation dd[data-mask="${name}"]`);
  const classical = stored.results.lesion;
  assert.equal(classical.provenance.model_id, null, 'no model is active: the classical segmenter');
  let text = await maskText('lesion');
  assert.ok(text.startsWith(`segmenter: ${classical.provenance.segmenter}, model: none`), text);
  assert.ok(text.includes(`version ${classical.version}`), text);
  text = await maskText('skin');
  assert.ok(text.startsWith(`segmenter: ${stored.results.skin.provenance.segmenter}, model: none`),
            text);
  text = await maskText('scores');
  assert.ok(text.startsWith(`segmenter: ${stored.results.measurements.provenance.segmenter}`), text);

  step('a corrected baseline mask: follow-ups re-segmented by the patient model, shown by id');
  await call(`${api}/v1/captures/${captures[0]}/mask`, clinician, 'PUT',
             readFileSync(path.join(phantomDir, 'visit-0.lesion.png')), 'image/png');
  let resegmented = null;
  for (const deadline = Date.now() + 90000; Date.now() < deadline;) {
    const c = await call(`${api}/v1/captures/${last}`, clinician, 'GET');
    if (c.status === 'processed' && c.results.lesion.provenance.model_id) {
      resegmented = c;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(resegmented, 'the follow-up was re-segmented with the patient reference');
  const model = resegmented.results.lesion.provenance;
  assert.match(model.model_id, new RegExp(`^patient-c${captures[0]}-m\\d+`));
  await page.reload();
  await page.waitForSelector(`#capture-panel h2:has-text("capture ${last}")`);
  text = await maskText('lesion');
  assert.ok(text.startsWith(`segmenter: ${model.segmenter}, model: ${model.model_id}`), text);
  assert.ok(text.includes(`patient reference: baseline capture ${captures[0]}, mask version`), text);
  assert.equal(await page.textContent('#segmentation dd[data-mask="lesion"] .model'),
               `model: ${model.model_id}`);
  await page.click(`a.capture-chip[data-capture="${captures[0]}"]`);
  await page.waitForSelector(`#capture-panel h2:has-text("capture ${captures[0]}")`);
  await page.waitForSelector('#segmentation dd[data-mask="lesion"] [data-origin="clinician"]');
  assert.match(await maskText('lesion'), /^clinician-corrected \(version \d+, /);
  assert.match(await maskText('scores'), /^the clinician-corrected lesion mask/);

  assert.deepEqual(pageErrors, [], 'no script or console errors in the page');
  await page.screenshot({path: path.join(artefacts, 'dashboard.png'), fullPage: true});
  step(`passed; screenshot ${path.join(artefacts, 'dashboard.png')}`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error('[dashboard] FAILED:', err && err.stack ? err.stack : err);
  if (page) {
    await page.screenshot({path: path.join(artefacts, 'dashboard-failure.png'), fullPage: true})
        .catch(() => {});
  }
} finally {
  if (context) await context.close().catch(() => {});
  if (server) {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  rmSync(work, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
