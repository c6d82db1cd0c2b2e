// COCO run-length encoding of masks, as the annotation API takes and gives them
// (docs/annotation.md, "The annotation document"): runs over the pixels in COLUMN-MAJOR order
// (down each column, then the next column), alternating unmarked / marked, starting with
// unmarked pixels (so a mask whose first pixel is marked starts with a 0 run); size is
// [height, width]. The dashboard sends counts as pycocotools' compressed string, the stored
// (canonical) form the API returns (about a quarter of the bytes of a list: a fragmented 12 MP
// document fits the server's 1 MiB body limit), and reads both the string and a list.
// Masks in the dashboard are Uint8Array in ROW-MAJOR order (index y * width + x), one byte per
// pixel, non-zero = marked. Loaded as a plain script (browser) or in a node vm (unit test).
'use strict';

(function (root) {
  // Row-major Uint8Array -> the runs, a list of counts.
  function maskRuns(mask, width, height) {
    if (mask.length !== width * height) {
      throw new Error(`mask has ${mask.length} pixels, not ${width} x ${height}`);
    }
    const counts = [];
    let marked = false;  // the run being counted is of unmarked pixels first
    let run = 0;
    for (let x = 0; x < width; ++x) {
      for (let i = x; i < mask.length; i += width) {
        const m = mask[i] !== 0;
        if (m !== marked) {
          counts.push(run);
          run = 0;
          marked = m;
        }
        ++run;
      }
    }
    counts.push(run);
    return counts;
  }

  // Row-major Uint8Array -> {size: [height, width], counts: "compressed string"}, the document's
  // form, character for character what the server stores (src/annotation/src/rle.cpp).
  function encodeMask(mask, width, height) {
    return {size: [height, width], counts: countsToString(maskRuns(mask, width, height))};
  }

  // {size, counts (list or compressed string)} -> row-major Uint8Array of 0 / 1. Throws when the
  // size is not the image's or the runs do not cover it exactly.
  function decodeMask(rle, width, height) {
    if (!rle || !Array.isArray(rle.size) || rle.size[0] !== height || rle.size[1] !== width) {
      throw new Error(`mask size ${JSON.stringify(rle && rle.size)} is not [${height}, ${width}]`);
    }
    const counts = typeof rle.counts === 'string' ? countsFromString(rle.counts) : rle.counts;
    if (!Array.isArray(counts)) throw new Error('mask counts are neither a list nor a string');
    const total = width * height;
    const out = new Uint8Array(total);
    let pos = 0;  // column-major position
    for (let k = 0; k < counts.length; ++k) {
      const n = counts[k];
      if (!Number.isInteger(n) || n < 0) throw new Error(`mask run ${k} is ${n}`);
      if (pos + n > total) throw new Error(`mask runs exceed ${total} pixels`);
      if (k % 2 === 1) {
        let x = Math.floor(pos / height);
        let y = pos - x * height;
        for (let left = n; left > 0; --left) {
          out[y * width + x] = 1;
          if (++y === height) {
            y = 0;
            ++x;
          }
        }
      }
      pos += n;
    }
    if (pos !== total) throw new Error(`mask runs cover ${pos} of ${total} pixels`);
    return out;
  }

  // pycocotools' rleFrString: 6 bits a character from '0' (48); 5 data bits, 0x20 = more follows,
  // 0x10 in the last character = negative; from the third count on, the difference to the count
  // two before. Arithmetic on Numbers (not 32-bit shifts) so long runs stay exact.
  function countsFromString(text) {
    const counts = [];
    let p = 0;
    while (p < text.length) {
      let x = 0;
      let k = 0;
      let more = true;
      while (more) {
        if (p >= text.length) throw new Error('compressed counts end inside a number');
        const c = text.charCodeAt(p) - 48;
        if (c < 0 || c > 63) throw new Error(`character '${text[p]}' is not in the RLE alphabet`);
        x += (c & 0x1f) * 2 ** (5 * k);
        more = (c & 0x20) !== 0;
        ++p;
        ++k;
        if (!more && (c & 0x10)) x -= 2 ** (5 * k);
      }
      if (counts.length > 2) x += counts[counts.length - 2];
      if (x < 0) throw new Error(`compressed counts give a negative run (${x})`);
      counts.push(x);
    }
    return counts;
  }

  // pycocotools' rleToString (the inverse of countsFromString), as RleCountsToString writes it.
  // Characters go into a byte buffer (at most 7 a count: a difference of two 32-bit counts has
  // 33 bits) and become a string in slices: a million runs cost no million string concatenations.
  function countsToString(counts) {
    const buf = new Uint8Array(counts.length * 7);
    let n = 0;
    for (let i = 0; i < counts.length; ++i) {
      let x = i > 2 ? counts[i] - counts[i - 2] : counts[i];
      let more = true;
      while (more) {
        let c = ((x % 32) + 32) % 32;  // x & 0x1f of the two's complement
        x = Math.floor((x - c) / 32);  // the arithmetic shift: negative numbers end at -1
        more = (c & 0x10) ? x !== -1 : x !== 0;
        if (more) c |= 0x20;
        buf[n++] = c + 48;
      }
    }
    const parts = [];
    for (let p = 0; p < n; p += 8192) {
      parts.push(String.fromCharCode.apply(null, buf.subarray(p, Math.min(n, p + 8192))));
    }
    return parts.join('');
  }

  root.skintrackRle = {maskRuns, encodeMask, decodeMask, countsFromString, countsToString};
})(globalThis);
