// The annotation and review views in a real headless browser (Debian's Chromium driven by
// playwright-core), after the unit tests of the mask code (annotation_units.mjs).
//
//   node tests/dashboard/annotation.test.mjs --skintrack build/skintrack --artefacts DIR
//
// Starts `skintrack serve` on a fresh data directory with admin, clinician and two annotator
// tokens, pushes a phantom capture and assigns it to both annotators. In the browser, each
// annotator opens it from the queue, zooms and pans, draws the lesion class with real mouse
// events (annotator 1: brush strokes, annotator 2: a polygon), labels it, sees a bad label refused
// with the server's message, saves a draft and submits; annotator 2 is refused annotator 1's
// work (403, blind). The clinician opens the review view, sees both masks and the pairwise Dice,
// accepts both, builds the consensus and sees the lesion mask and the scores with provenance
// `consensus`, the agreement figures equal to the API's. Also times the viewer on a 12 MP photo.
// Screenshots: DIR/annotation.png, DIR/review.png (DIR/annotation-failure.png when a step fails).
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';

import {loadWebScripts, runUnitTests} from './annotation_units.mjs';

console.log(`[annotation] ${runUnitTests()} unit tests of web/rle.js, raster.js, history.js passed`);

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

const work = mkdtempSync(path.join(tmpdir(), 'skintrack-annotation-'));
const data = path.join(work, 'data');
const phantomDir = path.join(work, 'phantom');
const {skintrackRle: rle} = loadWebScripts('rle.js');
let server = null;
let browser = null;
let page = null;
const pageErrors = [];

function step(text) {
  console.log(`[annotation] ${text}`);
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
const json = (url, token, method, body) =>
  call(url, token, method, JSON.stringify(body), 'application/json');

// A fresh browser context (own sessionStorage) signed in with `token`.
async function signIn(api, token, landing) {
  if (page) await page.context().close();
  const context = await browser.newContext({viewport: {width: 1360, height: 1000}});
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // The browser logs the refusals this test provokes (the bad label's 400, the blind 403, no
    // consensus yet 404) as failed resource loads; script errors still count (pageerror).
    if (msg.type() === 'error' && !/Failed to load resource.*status of (400|403|404)/.test(msg.text())) {
      pageErrors.push(msg.text());
    }
  });
  await page.goto(`${api}/`);
  await page.fill('#token', token);
  await page.click('#login-submit');
  await page.waitForSelector(landing);
}

// Screen position of image pixel coordinates in the editor's view.
// The view draws on the next animation frame: let two frames pass before reading where it is.
const afterFrames = () => page.evaluate(() => new Promise((resolve) =>
  requestAnimationFrame(() => requestAnimationFrame(resolve))));

async function screenOf(x, y) {
  await afterFrames();
  const stage = await page.$('#annotation-editor .mask-stage');
  const box = await stage.boundingBox();
  const d = await stage.evaluate((el) => ({s: Number(el.dataset.scale), ox: Number(el.dataset.ox),
                                           oy: Number(el.dataset.oy)}));
  return {x: box.x + d.ox + x * d.s, y: box.y + d.oy + y * d.s};
}

async function stroke(points) {
  let p = await screenOf(...points[0]);
  await page.mouse.move(p.x, p.y);
  await page.mouse.down();
  for (const q of points.slice(1)) {
    p = await screenOf(...q);
    await page.mouse.move(p.x, p.y, {steps: 12});
  }
  await page.mouse.up();
}

async function openEditor(captureId) {
  await page.click(`#annotation-queue tr[data-capture="${captureId}"] a.annotate-link`);
  await page.waitForFunction(() => {
    const el = document.querySelector('#annotation-editor .mask-stage');
    return el && Number(el.dataset.rendered) > 0;
  });
}

async function setBrush(radius) {
  await page.fill('#brush-size', String(radius));  // a range input: fill sets its value
}

// Masks of W x H whose strings stress the encoding: speckle (runs of 1 and more), spots (runs of
// hundreds, negative differences), a marked first pixel (a leading 0 run), full, and empty.
function rleSamples(W, H) {
  let seed = 99;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const {skintrackRaster: raster} = loadWebScripts('raster.js');
  const speckle = new Uint8Array(W * H).map(() => (random() < 0.3 ? 1 : 0));
  const spots = new Uint8Array(W * H);
  for (let k = 0; k < 40; ++k) raster.stampDisc(spots, W, H, random() * W, random() * H, 2 + random() * 60, 1);
  const corner = new Uint8Array(W * H);
  raster.stampDisc(corner, W, H, 0, 0, 30, 1);
  return {psoriasis_plaque: speckle, psoriasis_scale: spots, vitiligo_depigmented: corner,
          skin: new Uint8Array(W * H).fill(1), exclude: new Uint8Array(W * H)};
}

function markedAt(mask, width, x, y) {
  return mask[y * width + x] === 1;
}
function countMarked(mask) {
  return mask.reduce((n, v) => n + v, 0);
}

async function main() {
  step('phantom, service, tokens, capture, assignments');
  execFileSync(skintrack, ['phantom', '--out', phantomDir, '--condition', 'psoriasis',
                           '--visits', '1', '--size', '640x480', '--seed', '31',
                           '--fitzpatrick', '3', '--jpeg', '90'], {stdio: 'ignore'});
  const admin = execFileSync(skintrack, ['token', 'create', '--data-dir', data, '--role', 'admin'])
                    .toString().trim().split('\n').pop();
  server = await startServer();
  const api = server.url;
  await json(`${api}/v1/patients`, admin, 'POST', {id: 'ANN-01', fitzpatrick: 3});
  const newToken = (role, label) => json(`${api}/v1/tokens`, admin, 'POST', {role, label});
  const clinician = await newToken('clinician', 'reviewer');
  const ann1 = await newToken('annotator', 'annotator one');
  const ann2 = await newToken('annotator', 'annotator two');
  const capture = await call(
      `${api}/v1/patients/ANN-01/sites/left-forearm/captures?condition=psoriasis` +
      '&captured_at=2026-03-10T09:00:00Z&visit=week-0&wait=true',
      clinician.token, 'POST', readFileSync(path.join(phantomDir, 'visit-0.jpg')), 'image/jpeg');
  assert.equal(capture.status, 'processed', JSON.stringify(capture));
  const cid = capture.id;
  const [W, H] = [capture.width, capture.height];
  await json(`${api}/v1/captures/${cid}/assignments`, admin, 'POST',
             {annotators: [ann1.id, ann2.id]});
  const before = await call(`${api}/v1/captures/${cid}`, clinician.token, 'GET');

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  step('annotator 1: the queue, zoom and pan, brush strokes, eraser, box, keypoint, labels');
  await signIn(api, ann1.token, `#annotation-queue tr[data-capture="${cid}"]`);
  await openEditor(cid);
  assert.equal(await page.inputValue('#mask-class'), 'psoriasis_plaque', 'the lesion class of the condition');
  const scaleOf = async () => (await afterFrames(), page.$eval('#annotation-editor .mask-stage', (el) => Number(el.dataset.scale)));
  const fitScale = await scaleOf();
  const centre = await screenOf(W / 2, H / 2);
  await page.mouse.move(centre.x, centre.y);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction((s) => Number(document.querySelector(
      '#annotation-editor .mask-stage').dataset.scale) > s * 1.5, fitScale);
  const zoomed = await scaleOf();
  // The pixel under the pointer stays under it while zooming.
  const still = await screenOf(W / 2, H / 2);
  assert.ok(Math.hypot(still.x - centre.x, still.y - centre.y) < 1.5, 'zoom keeps the pointer\'s pixel');
  await page.check('#tool-pan');
  const beforePan = await screenOf(100, 100);
  await page.mouse.move(centre.x, centre.y);
  await page.mouse.down();
  await page.mouse.move(centre.x + 60, centre.y + 40, {steps: 5});
  await page.mouse.up();
  const afterPan = await screenOf(100, 100);
  assert.ok(Math.abs(afterPan.x - beforePan.x - 60) < 1 && Math.abs(afterPan.y - beforePan.y - 40) < 1,
            'the pan tool moves the photo with the pointer');
  // Drawing while zoomed in: the stroke lands on the image pixels under the pointer.
  await page.check('#tool-brush');
  await setBrush(20);
  await stroke([[250, 230], [390, 230]]);
  await page.click('#zoom-fit');
  assert.ok(Math.abs(await scaleOf() - fitScale) < 1e-9 && zoomed > fitScale);
  await stroke([[250, 280], [390, 280]]);
  await page.check('#tool-eraser');
  await setBrush(8);
  await stroke([[320, 200], [320, 310]]);  // cuts both strokes
  await page.check('#tool-box');
  await stroke([[230, 200], [410, 310]]);
  await page.check('#tool-keypoint');
  let p = await screenOf(100, 100);
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector('#editor-message:has-text("Name the keypoint")');
  await page.fill('#keypoint-name', 'mole_1');
  p = await screenOf(100.5, 120.5);
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector('#keypoint-list:has-text("mole_1")');
  await page.waitForSelector('#box-list:has-text("psoriasis_plaque 230,200 180×110")');

  step('annotator 1: undo / redo (Ctrl+Z, Ctrl+Shift+Z, buttons) of a keypoint, a stroke, an erase');
  assert.ok(await page.isDisabled('#redo') && !(await page.isDisabled('#undo')));
  await page.focus('#annotation-note');
  await page.keyboard.press('Control+z');  // in a text field: the field's own undo, not ours
  assert.ok(await page.isDisabled('#redo'), 'Ctrl+Z while typing leaves the drawing alone');
  await page.focus('#annotation-editor .mask-stage canvas.layer-ui');
  await page.keyboard.press('Control+z');
  await page.waitForSelector('#keypoint-list:not(:has-text("mole_1"))');
  await page.keyboard.press('Control+Shift+Z');
  await page.waitForSelector('#keypoint-list:has-text("mole_1")');
  await page.check('#tool-brush');
  await setBrush(15);
  await stroke([[250, 400], [390, 400]]);
  await page.check('#tool-eraser');
  await setBrush(8);
  await stroke([[320, 380], [320, 420]]);  // cuts the new stroke
  await page.keyboard.press('Control+z');  // the erase
  await page.click('#undo');               // the stroke
  await page.selectOption('#label-subtype', 'plaque');
  await page.selectOption('#label-erythema', '2');
  await page.selectOption('#label-fitzpatrick', '3');
  await page.selectOption('#label-image_quality', '4');

  step('annotator 1: a bad label is refused with the server\'s message, nothing written');
  await page.fill('#label-locations', 'left-forearm, elbow-of-nowhere');
  await page.click('#save-draft');
  await page.waitForSelector('#annotation-status.error:has-text("invalid_argument")');
  assert.match(await page.textContent('#annotation-status'), /elbow-of-nowhere/);
  assert.equal((await call(`${api}/v1/captures/${cid}/annotations`, ann1.token, 'GET')).annotations.length, 0);
  await page.fill('#label-locations', 'left-forearm');
  await page.click('#save-draft');
  await page.waitForSelector('#annotation-status:has-text("Draft saved (version 1)")');
  const latestMask = async () => (await call(`${api}/v1/captures/${cid}/annotations`, ann1.token, 'GET'))
      .annotations[0].content.masks.psoriasis_plaque;
  const v1 = await latestMask();
  let m = rle.decodeMask(v1, W, H);
  assert.ok(markedAt(m, W, 260, 230) && !markedAt(m, W, 320, 230), 'the earlier strokes and erase stay');
  assert.ok(!markedAt(m, W, 260, 400) && !markedAt(m, W, 380, 400), 'the undone stroke is not saved');
  await page.keyboard.press('Control+Shift+Z');  // focus is on the Save button: not a text field
  await page.click('#redo');
  assert.ok(await page.isDisabled('#redo'));
  await page.click('#save-draft');
  await page.waitForSelector('#annotation-status:has-text("Draft saved (version 2)")');
  m = rle.decodeMask(await latestMask(), W, H);
  assert.ok(markedAt(m, W, 260, 400) && markedAt(m, W, 380, 400), 'redo brings the stroke back');
  assert.ok(!markedAt(m, W, 320, 400), 'and then the erase across it');
  await page.click('#undo');
  await page.click('#undo');
  await page.screenshot({path: path.join(artefacts, 'annotation.png'), fullPage: true});
  const submitted = page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith('/annotations/mine'));
  await page.click('#submit-annotation');
  await page.waitForSelector('#annotation-status:has-text("Submitted for review (version 3)")');
  assert.ok(await page.isDisabled('#submit-annotation'), 'a submitted annotation is not editable');
  const sentMask = JSON.parse((await submitted).postData()).content.masks.psoriasis_plaque;

  const mine1 = (await call(`${api}/v1/captures/${cid}/annotations`, ann1.token, 'GET')).annotations[0];
  assert.equal(mine1.state, 'submitted');
  assert.equal(typeof sentMask.counts, 'string', 'the page sends compressed-string counts');
  assert.equal(sentMask.counts, mine1.content.masks.psoriasis_plaque.counts,
               'the page\'s string is the one the server stores (its canonical encoding)');
  assert.equal(sentMask.counts, v1.counts, 'undone twice: exactly the pixels of version 1');
  const m1 = rle.decodeMask(mine1.content.masks.psoriasis_plaque, W, H);
  assert.ok(markedAt(m1, W, 260, 230) && markedAt(m1, W, 380, 230), 'the zoomed stroke');
  assert.ok(markedAt(m1, W, 260, 280) && markedAt(m1, W, 380, 280), 'the stroke at fit');
  assert.ok(!markedAt(m1, W, 320, 230) && !markedAt(m1, W, 320, 280), 'erased');
  assert.ok(!markedAt(m1, W, 320, 255) && !markedAt(m1, W, 100, 100), 'nothing else');
  // Two capsules of radius 20 and length 140, less the eraser's cut (16 px wide through both).
  const expected1 = 2 * (140 * 40 + Math.PI * 400) - 2 * 16 * 40;
  const area1 = countMarked(m1);
  assert.ok(Math.abs(area1 - expected1) < 0.05 * expected1, `area ${area1} vs ${expected1}`);
  assert.deepEqual(mine1.content.boxes, [{class: 'psoriasis_plaque', x: 230, y: 200, width: 180, height: 110}]);
  assert.equal(mine1.content.keypoints.length, 1);
  const kp = mine1.content.keypoints[0];  // screen pixels are whole: within half an image pixel
  assert.ok(kp.name === 'mole_1' && Math.abs(kp.x - 100.5) < 0.5 && Math.abs(kp.y - 120.5) < 0.5,
            JSON.stringify(kp));
  assert.deepEqual(mine1.content.labels, {diagnosis: 'psoriasis', subtype: 'plaque', erythema: 2,
                                          fitzpatrick: 3, image_quality: 4, locations: ['left-forearm']});

  step('annotator 2: a polygon, submitted; annotator 1\'s work is refused (blind, 403)');
  await signIn(api, ann2.token, `#annotation-queue tr[data-capture="${cid}"]`);
  await openEditor(cid);
  await page.check('#tool-polygon');
  for (const [x, y] of [[240, 210], [400, 210], [400, 300]]) {
    p = await screenOf(x, y);
    await page.mouse.click(p.x, p.y);
  }
  p = await screenOf(240, 300);
  await page.mouse.dblclick(p.x, p.y);
  await page.keyboard.press('Control+z');  // the polygon, the class's first edit: no mask at all
  await page.selectOption('#label-erythema', '3');
  await page.click('#save-draft');
  await page.waitForSelector('#annotation-status:has-text("Draft saved (version 1)")');
  const draft2 = (await call(`${api}/v1/captures/${cid}/annotations`, ann2.token, 'GET')).annotations[0];
  assert.deepEqual(Object.keys(draft2.content.masks), [], 'an undone first polygon sends no mask');
  await page.click('#redo');
  await page.click('#submit-annotation');
  await page.waitForSelector('#annotation-status:has-text("Submitted for review (version 2)")');
  const mine2 = (await call(`${api}/v1/captures/${cid}/annotations`, ann2.token, 'GET')).annotations;
  assert.equal(mine2.length, 1, 'an annotator lists only its own annotation');
  const m2 = rle.decodeMask(mine2[0].content.masks.psoriasis_plaque, W, H);
  assert.equal(countMarked(m2), 160 * 90, 'the polygon fills the pixels whose centres are inside');
  await page.goto(`${api}/#/annotations/${mine1.annotation_id}`);
  await page.waitForSelector('#blind-refusal');
  assert.match(await page.textContent('#main p.error'), /\(forbidden\)/);
  await page.goto(`${api}/#/review/${cid}`);
  await page.waitForSelector('#main p.error');  // annotators read no capture details (403)
  assert.equal(await page.locator('#annotation-table').count(), 0);

  step('clinician: review view, both masks overlaid, pairwise Dice, accept both');
  await signIn(api, clinician.token, '#patients tr[data-patient="ANN-01"]');
  await page.goto(`${api}/#/patients/ANN-01/captures/${cid}`);
  await page.click('#open-review');
  await page.waitForSelector('#annotation-table tbody tr >> nth=1');
  assert.equal(await page.locator('#annotation-table tbody tr').count(), 2);
  assert.equal(await page.locator('#annotator-toggles input:not([disabled])').count(), 2);
  await page.uncheck(`#toggle-ann-${mine1.annotation_id}`);
  await page.check(`#toggle-ann-${mine1.annotation_id}`);
  const browserDice = Number(await page.textContent('#pairwise-dice tbody tr >> nth=0 >> td >> nth=1'));
  let both = 0;
  for (let i = 0; i < m1.length; ++i) both += m1[i] & m2[i];
  const dice12 = 2 * both / (countMarked(m1) + countMarked(m2));
  assert.ok(Math.abs(browserDice - dice12) < 0.0005, `pairwise Dice ${browserDice} vs ${dice12}`);
  assert.match(await page.textContent('#consensus-figures'), /No consensus built yet/);
  for (const a of [mine1, mine2[0]]) {
    const row = `#annotation-table tr[data-annotation="${a.annotation_id}"]`;
    await page.fill(`${row} input.review-note`, 'looks right');
    await page.click(`${row} button.accept`);
    await page.waitForSelector(`${row} td.decision:has-text("accepted")`);
  }

  step('clinician: build the consensus; the lesion mask and the scores say consensus');
  await page.selectOption('#consensus-method', 'majority');
  await page.click('#build-consensus');
  await page.waitForSelector('#review-flash:has-text("Consensus built (majority, 2 annotators)")');
  await page.waitForSelector('#lesion-provenance:has-text("source consensus")');
  await page.waitForFunction(() => document.querySelector('#consensus-mask').dataset.loaded === 'true');
  const after = await call(`${api}/v1/captures/${cid}`, clinician.token, 'GET');
  const stored = await call(`${api}/v1/captures/${cid}/consensus`, clinician.token, 'GET');
  // The same figures are stored as the capture's agreement result (source consensus).
  assert.equal(after.results.annotation_agreement.source, 'consensus');
  assert.equal(after.results.annotation_agreement.payload.pairwise_dice_mean, stored.pairwise_dice_mean);
  assert.equal(stored.annotators, 2);
  assert.ok(Math.abs(stored.pairwise_dice_mean - dice12) < 1e-6, 'the server\'s pairwise Dice is ours');
  assert.equal(await page.textContent('#pairwise-mean'), stored.pairwise_dice_mean.toFixed(3));
  for (const pa of stored.per_annotator) {
    const cells = await page.$$eval(`#per-annotator tr[data-annotation="${pa.annotation_id}"] td`,
                                    (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(cells, [pa.author, pa.dice_vs_consensus.toFixed(3), pa.dice_vs_others.toFixed(3),
                             pa.sensitivity.toFixed(3), pa.specificity.toFixed(3)]);
  }
  assert.equal(after.results.lesion.source, 'consensus');
  assert.equal(await page.textContent('#consensus-scores tr[data-name="lesion"] td.source'), 'consensus');
  const scored = Object.values(after.results).filter((r) => r.kind === 'score');
  assert.ok(scored.length > 0, 'the capture has scores');
  for (const r of scored) {
    const old = before.results[r.name];
    assert.ok(!old || r.version > old.version, `${r.name} was rescored`);
    assert.equal(await page.textContent(`#consensus-scores tr[data-name="${r.name}"] td.source`), r.source);
  }
  const pasi = after.results.pasi_site;
  assert.equal(pasi.source, 'consensus', 'the site PASI is computed from the consensus mask');
  assert.equal(pasi.provenance.area, 'consensus');
  assert.notEqual(pasi.value, before.results.pasi_site.value, 'the consensus changed the score');
  assert.equal(await page.textContent('#consensus-scores tr[data-name="pasi_site"] td.num >> nth=0'),
               pasi.value.toFixed(3));
  assert.match(await page.textContent('#consensus-scores tr[data-name="pasi_site"]'), /area: consensus/);
  await page.screenshot({path: path.join(artefacts, 'review.png'), fullPage: true});

  step('the viewer on a 12 MP photo: one Uint8Array a class, frame and encoder times');
  const timing = await page.evaluate(async () => {
    const [w, h] = [4000, 3000];
    const canvas = new OffscreenCanvas(w, h);
    const g = canvas.getContext('2d');
    g.fillStyle = '#c89';
    g.fillRect(0, 0, w, h);
    const bitmap = await createImageBitmap(canvas);
    const view = new globalThis.skintrackMaskView.MaskView(bitmap, w, h);
    document.body.append(view.el);
    view.fit();
    view.layers = globalThis.skintrackEditor.CLASSES.map((c, i) => ({
      key: c, color: [40 * i, 200, 100], mask: new Uint8Array(w * h), visible: true}));
    let t = performance.now();
    globalThis.skintrackRaster.stampLine(view.layers[0].mask, w, h, {x: 500, y: 500}, {x: 3500, y: 2500}, 150, 1);
    const strokeMs = performance.now() - t;
    t = performance.now();
    view.render();
    const frameMs = performance.now() - t;
    t = performance.now();
    const enc = globalThis.skintrackRle.encodeMask(view.layers[0].mask, w, h);
    const encodeMs = performance.now() - t;
    const back = globalThis.skintrackRle.decodeMask(enc, w, h);
    const same = back.every((v, i) => v === view.layers[0].mask[i]);
    const runs = globalThis.skintrackRle.countsFromString(enc.counts).length;
    // Ten diagonal strokes of a new class into the 64 MiB history: each step keeps its bounding
    // rectangle (about 3300 x 2300 px), the oldest go beyond the cap.
    const {EditHistory, MaskRecorder} = globalThis.skintrackHistory;
    const history = new EditHistory();
    const recorder = new MaskRecorder(w, h);
    const layer = {mask: null};
    let recordMs = 0;
    let stepBytes = 0;
    for (let i = 0; i < 10; ++i) {
      t = performance.now();
      const m = recorder.begin(layer);
      recordMs += performance.now() - t;
      recorder.touch(globalThis.skintrackRaster.stampLine(m, w, h, {x: 500 + 10 * i, y: 500},
                                                          {x: 3500 + 10 * i, y: 2500}, 150, 1));
      t = performance.now();
      const s = recorder.end();
      recordMs += performance.now() - t;
      stepBytes = s.bytes;
      history.push(s);
    }
    t = performance.now();
    history.undo();
    const undoMs = performance.now() - t;
    const historyFigures = {stepBytes, historyBytes: history.bytes, kept: history.done.length + 1,
                            recordMs: recordMs / 10, undoMs};
    view.destroy();
    view.el.remove();
    // A fragmented document: six classes of 600 seeded spots each (radius 4-44 px, e.g. guttate
    // psoriasis), in both counts forms.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const asList = {masks: {}};
    const asString = {masks: {}};
    let fragmentedRuns = 0;
    let stringMs = 0;
    for (const c of globalThis.skintrackEditor.CLASSES) {
      const m = new Uint8Array(w * h);
      for (let k = 0; k < 600; ++k) {
        globalThis.skintrackRaster.stampDisc(m, w, h, random() * w, random() * h, 4 + random() * 40, 1);
      }
      const list = globalThis.skintrackRle.maskRuns(m, w, h);
      fragmentedRuns += list.length;
      asList.masks[c] = {size: [h, w], counts: list};
      t = performance.now();
      asString.masks[c] = globalThis.skintrackRle.encodeMask(m, w, h);
      stringMs += performance.now() - t;
    }
    return {strokeMs, frameMs, encodeMs, same, runs, fragmentedRuns, stringMs, historyFigures,
            listJson: JSON.stringify(asList), stringJson: JSON.stringify(asString)};
  });
  step(`12 MP: stroke ${timing.strokeMs.toFixed(0)} ms, frame ${timing.frameMs.toFixed(0)} ms, ` +
       `RLE encode ${timing.encodeMs.toFixed(0)} ms (${timing.runs} runs)`);
  assert.ok(timing.same, 'a 12 MP mask survives encode and decode');
  assert.ok(timing.frameMs < 1000 && timing.encodeMs < 3000,
            JSON.stringify(Object.assign({}, timing, {listJson: undefined, stringJson: undefined})));
  const hf = timing.historyFigures;
  step(`12 MP undo: a diagonal stroke's step ${(hf.stepBytes / 1e6).toFixed(1)} MB (the mask: ` +
       `12 MB), ${hf.kept} of 10 kept in ${(hf.historyBytes / 1048576).toFixed(1)} MiB, recording ` +
       `${hf.recordMs.toFixed(0)} ms a stroke, undo ${hf.undoMs.toFixed(0)} ms`);
  assert.ok(hf.stepBytes < 0.7 * 4000 * 3000 && hf.historyBytes <= 64 * 1048576 && hf.kept < 10,
            JSON.stringify(hf));
  const [listBytes, stringBytes] = [timing.listJson.length, timing.stringJson.length];
  step(`12 MP, six fragmented masks (${timing.fragmentedRuns} runs): document ${listBytes} bytes ` +
       `with list counts, ${stringBytes} with strings (encoded in ${timing.stringMs.toFixed(0)} ms)`);

  step('the server\'s own strings: list counts in, its canonical strings out, equal to the page\'s');
  const ann3 = await newToken('annotator', 'annotator three');
  await json(`${api}/v1/captures/${cid}/assignments`, admin, 'POST', {annotators: [ann3.id]});
  const samples = rleSamples(W, H);
  const put = (content) => fetch(`${api}/v1/captures/${cid}/annotations/mine`, {
    method: 'PUT', headers: {Authorization: `Bearer ${ann3.token}`, 'Content-Type': 'application/json'},
    body: JSON.stringify({action: 'save', expected_version: 0, note: '', content})});
  const listDoc = {masks: {}};
  for (const [cls, m] of Object.entries(samples)) {
    listDoc.masks[cls] = {size: [H, W], counts: rle.maskRuns(m, W, H)};
  }
  const res3 = await put(listDoc);
  assert.equal(res3.status, 201, (await res3.clone().text()).slice(0, 300));
  const stored3 = (await res3.json()).content.masks;
  for (const [cls, m] of Object.entries(samples)) {
    assert.equal(stored3[cls].counts, rle.encodeMask(m, W, H).counts, `${cls}: the C++ string`);
  }

  step('the server\'s 1 MiB body limit: the fragmented 12 MP document fits only with strings');
  const limit = 1024 * 1024;
  assert.ok(listBytes > limit && stringBytes < 0.7 * limit, `${listBytes} / ${stringBytes} bytes`);
  const tooLarge = await put(JSON.parse(timing.listJson));
  assert.equal(tooLarge.status, 413, 'list counts exceed the body limit');
  // The string form passes the limit and is parsed: refused only because this capture is
  // 640 x 480, not 4000 x 3000 (nothing is written).
  const parsed = await put(JSON.parse(timing.stringJson));
  assert.equal(parsed.status, 400);
  assert.match((await parsed.json()).error.message, /size/);

  assert.deepEqual(pageErrors, [], 'no script or console errors in the page');
  step(`passed; screenshots in ${artefacts} (annotation.png, review.png)`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error('[annotation] FAILED:', err && err.stack ? err.stack : err);
  if (page) {
    await page.screenshot({path: path.join(artefacts, 'annotation-failure.png'), fullPage: true})
        .catch(() => {});
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  rmSync(work, {recursive: true, force: true});
}
process.exit(failed ? 1 : 0);
