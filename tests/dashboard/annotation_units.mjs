// Unit tests of the dashboard's mask code (web/rle.js, web/raster.js, web/history.js), run in node before the
// browser part of annotation.test.mjs (and alone: `node tests/dashboard/annotation_units.mjs`).
// The scripts are plain browser scripts; they run here in a vm context, as the page runs them.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

export function loadWebScripts(...names) {
  const context = vm.createContext({});
  for (const name of names) {
    vm.runInContext(readFileSync(path.join(web, name), 'utf8'), context, {filename: name});
  }
  return context;
}

// A row-major Uint8Array from rows of '.' (unmarked) and '#' (marked).
function maskOf(rows) {
  const width = rows[0].length;
  const mask = new Uint8Array(rows.length * width);
  rows.forEach((r, y) => [...r].forEach((ch, x) => { mask[y * width + x] = ch === '#' ? 1 : 0; }));
  return {mask, width, height: rows.length};
}

function rowsOf(mask, width) {
  const rows = [];
  for (let y = 0; y < mask.length / width; ++y) {
    rows.push([...mask.slice(y * width, (y + 1) * width)].map((v) => (v ? '#' : '.')).join(''));
  }
  return rows;
}

export function runUnitTests() {
  const {skintrackRle: rle, skintrackRaster: raster, skintrackHistory: hist} =
      loadWebScripts('rle.js', 'raster.js', 'history.js');
  let n = 0;
  const test = (name, fn) => {
    fn();
    ++n;
  };

  test('encode: column-major runs, starting unmarked, size [height, width]', () => {
    // 3 rows x 4 columns. Down the columns: col 0 = . . #, col 1 = # # #, col 2 = # . ., col 3 = . . .
    // -> 0 0 1 | 1 1 1 | 1 0 0 | 0 0 0 -> runs 2 unmarked, 5 marked, 5 unmarked.
    // (Row-major it would be 1, 2, 2, 1, 2, 2, 2: the test tells the orders apart.)
    const {mask, width, height} = maskOf(['.##.',
                                          '.#..',
                                          '##..']);
    assert.deepEqual([...rle.maskRuns(mask, width, height)], [2, 5, 5]);
    const enc = rle.encodeMask(mask, width, height);
    assert.deepEqual([...enc.size], [3, 4]);
    assert.equal(enc.counts, rle.countsToString([2, 5, 5]));
  });

  test('encode: a marked first pixel gives a leading 0 run; empty and full masks', () => {
    // 2 x 3; down the columns: # . | # # | . # -> 1 0 1 1 0 1 -> runs 0, 1, 1, 2, 1, 1.
    const {mask, width, height} = maskOf(['##.',
                                          '.##']);
    assert.deepEqual([...rle.maskRuns(mask, width, height)], [0, 1, 1, 2, 1, 1]);
    assert.deepEqual([...rle.maskRuns(new Uint8Array(6), 3, 2)], [6]);
    assert.deepEqual([...rle.maskRuns(new Uint8Array(6).fill(255), 3, 2)], [0, 6]);
  });

  test('decode: list counts back to the same pixels; size and coverage are checked', () => {
    const rows = ['.##.', '.#..', '##..'];
    const decoded = rle.decodeMask({size: [3, 4], counts: [2, 5, 5]}, 4, 3);
    assert.deepEqual(rowsOf(decoded, 4), rows);
    assert.throws(() => rle.decodeMask({size: [4, 3], counts: [2, 5, 5]}, 4, 3), /not \[3, 4\]/);
    assert.throws(() => rle.decodeMask({size: [3, 4], counts: [2, 5, 4]}, 4, 3), /cover 11 of 12/);
    assert.throws(() => rle.decodeMask({size: [3, 4], counts: [2, 5, 6]}, 4, 3), /exceed/);
    assert.throws(() => rle.decodeMask({size: [3, 4], counts: [2, -1, 11]}, 4, 3), /run 1/);
  });

  test('compressed strings as pycocotools writes them (the values of tests/annotation/rle_test.cpp)', () => {
    assert.deepEqual([...rle.countsFromString('231')], [2, 3, 1]);
    assert.deepEqual([...rle.countsFromString('2312')], [2, 3, 1, 5]);
    assert.deepEqual([...rle.countsFromString(':d01A')], [10, 20, 1, 5]);
    assert.equal(rle.countsToString([10, 20, 1, 5]), ':d01A');
    assert.equal(rle.countsToString([2, 3, 1, 5]), '2312');
    assert.throws(() => rle.countsFromString('d'), /inside a number/);
    assert.throws(() => rle.countsFromString('2~'), /alphabet/);
    assert.throws(() => rle.countsFromString('A'), /negative/);
    const long = [12000000, 3, 4000000, 7, 1, 99999];
    assert.deepEqual([...rle.countsFromString(rle.countsToString(long))], long);
    const decoded = rle.decodeMask({size: [3, 4], counts: rle.countsToString([2, 5, 5])}, 4, 3);
    assert.deepEqual(rowsOf(decoded, 4), ['.##.', '.#..', '##..']);
  });

  test('encodeMask writes the strings RleCountsToString writes (tests/annotation/rle_test.cpp)', () => {
    // One column of 6 pixels: 2 unmarked, 3 marked, 1 unmarked -> "231".
    const column = rle.encodeMask(Uint8Array.from([0, 0, 1, 1, 1, 0]), 1, 6);
    assert.deepEqual([...column.size, column.counts], [6, 1, '231']);
    // 6 x 6, column-major runs 10, 20, 1, 5: 20 needs a continuation group, 5 - 20 one
    // sign-extended group -> ":d01A".
    const m = new Uint8Array(36);
    const at = (p) => (p % 6) * 6 + Math.floor(p / 6);  // column-major position -> row-major
    for (let p = 10; p < 30; ++p) m[at(p)] = 1;
    for (let p = 31; p < 36; ++p) m[at(p)] = 1;
    assert.equal(rle.encodeMask(m, 6, 6).counts, ':d01A');
    // The counts of the test's 32-bit case: differences of nearly 2^32 either way.
    const big = [0, 4000000000, 7, 123456789, 1, 4000000000];
    assert.deepEqual([...rle.countsFromString(rle.countsToString(big))], big);
    // A count bigger than a 32-bit shift could take stays exact (2^31 and more).
    assert.deepEqual([...rle.countsFromString(rle.countsToString([2 ** 31, 2 ** 32 - 1]))],
                     [2 ** 31, 2 ** 32 - 1]);
  });

  test('round trip of a random 37 x 53 mask', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const mask = new Uint8Array(37 * 53).map(() => (random() < 0.3 ? 1 : 0));
    const enc = rle.encodeMask(mask, 53, 37);
    assert.equal(typeof enc.counts, 'string');
    assert.equal(rle.countsFromString(enc.counts).reduce((a, b) => a + b, 0), 37 * 53);
    assert.deepEqual([...rle.decodeMask(enc, 53, 37)], [...mask]);
  });

  test('raster: a disc, a polygon by pixel centres, Dice', () => {
    const disc = new Uint8Array(7 * 7);
    raster.stampDisc(disc, 7, 7, 3.5, 3.5, 1.5, 1);  // centres within 1.5 of the middle pixel's
    assert.deepEqual(rowsOf(disc, 7), ['.......', '.......', '..###..', '..###..', '..###..',
                                       '.......', '.......']);
    const poly = new Uint8Array(6 * 6);
    // The square [1, 4] x [1, 3]: pixel centres 1.5..3.5 across, 1.5..2.5 down.
    raster.fillPolygon(poly, 6, 6, [{x: 1, y: 1}, {x: 4, y: 1}, {x: 4, y: 3}, {x: 1, y: 3}], 1);
    assert.deepEqual(rowsOf(poly, 6), ['......', '.###..', '.###..', '......', '......', '......']);
    raster.stampDisc(poly, 6, 6, 2.5, 1.5, 0.4, 0);  // the eraser: one pixel
    assert.equal(raster.countMarked(poly), 5);
    assert.equal(raster.dice(poly, poly), 1);
    assert.equal(raster.dice(new Uint8Array(4), new Uint8Array(4)), 1);
    assert.equal(raster.dice(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([1, 0, 1, 0])), 0.5);
  });

  test('raster: each tool returns the rectangle it drew into (ends exclusive)', () => {
    const m = new Uint8Array(7 * 7);
    assert.deepEqual({...raster.stampDisc(m, 7, 7, 3.5, 3.5, 1.5, 1)}, {x0: 2, y0: 2, x1: 5, y1: 5});
    assert.deepEqual({...raster.stampDisc(m, 7, 7, 0, 0, 1.2, 1)}, {x0: 0, y0: 0, x1: 1, y1: 1});
    assert.equal(raster.stampDisc(m, 7, 7, -5, -5, 1, 1), null, 'off the image');
    assert.deepEqual({...raster.stampLine(m, 7, 7, {x: 1.5, y: 1.5}, {x: 5.5, y: 1.5}, 0.6, 1)},
                     {x0: 1, y0: 1, x1: 6, y1: 2});
    assert.deepEqual({...raster.fillPolygon(m, 7, 7, [{x: 1, y: 1}, {x: 4, y: 1}, {x: 4, y: 3},
                                                      {x: 1, y: 3}], 1)},
                     {x0: 1, y0: 1, x1: 4, y1: 3});
  });

  test('history: undo, redo, a new step drops the redos, the byte cap drops the oldest', () => {
    const log = [];
    const step = (name, bytes) => ({bytes, undo: () => log.push(`-${name}`), redo: () => log.push(`+${name}`)});
    const h = new hist.EditHistory(100);
    assert.equal(h.undo(), false);
    h.push(step('a', 40));
    h.push(step('b', 40));
    assert.ok(h.undo() && h.undo() && !h.undo());
    assert.ok(h.redo() && h.canRedo);
    h.push(step('c', 10));  // b cannot come back
    assert.ok(!h.canRedo && h.bytes === 50);
    h.push(step('d', 40));  // 90
    h.push(step('e', 40));  // 130 > 100: a goes
    assert.equal(h.bytes, 90);
    while (h.undo());
    assert.deepEqual(log, ['-b', '-a', '+a', '-e', '-d', '-c']);
    h.push(step('huge', 101));  // larger than the cap: kept nowhere, nothing older either
    assert.ok(!h.canUndo && !h.canRedo && h.bytes === 0);
  });

  test('history: a mask step keeps only the changed rectangle\'s previous bytes', () => {
    const [W, H] = [10, 8];
    const rec = new hist.MaskRecorder(W, H);
    const layer = {mask: null};
    // A new class: the edit allocates its mask, and undo takes it away again.
    let m = rec.begin(layer);
    rec.touch(raster.stampDisc(m, W, H, 3.5, 3.5, 1.5, 1));
    const first = rec.end();
    assert.deepEqual({...first.rect}, {x0: 2, y0: 2, x1: 5, y1: 5});
    assert.equal(first.bytes, 9, 'a 3 x 3 rectangle, not the 80-pixel mask');
    const drawn = [...layer.mask];
    first.undo();
    assert.equal(layer.mask, null, 'undoing the first stroke of a class: the class is not sent');
    first.redo();
    assert.deepEqual([...layer.mask], drawn);
    // An erase of one pixel inside a wider touched rectangle: the step shrinks to that pixel.
    m = rec.begin(layer);
    m[3 * W + 3] = 0;
    rec.touch({x0: 0, y0: 0, x1: W, y1: H});
    const erase = rec.end();
    assert.deepEqual([{...erase.rect}, erase.bytes], [{x0: 3, y0: 3, x1: 4, y1: 4}, 1]);
    erase.undo();
    assert.deepEqual([...layer.mask], drawn);
    erase.redo();
    assert.equal(layer.mask[3 * W + 3], 0);
    assert.equal(raster.countMarked(layer.mask), 8);
    // A brush over pixels already marked changes nothing: no step.
    m = rec.begin(layer);
    rec.touch(raster.stampDisc(m, W, H, 2.5, 2.5, 0.4, 1));
    assert.equal(rec.end(), null);
    assert.equal(rec.end(), null, 'no edit open');
  });
  return n;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`[annotation] ${runUnitTests()} unit tests of web/rle.js, raster.js, history.js passed`);
}
