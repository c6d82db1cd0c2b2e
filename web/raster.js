// Drawing into a row-major Uint8Array mask at full image resolution (the brush, the eraser and
// the polygon tool of the annotation view). Coordinates are continuous image pixels: pixel (i, j)
// spans [i, i + 1) x [j, j + 1), its centre is (i + 0.5, j + 0.5); a pixel is drawn when its
// centre is inside the shape. Each tool returns the rectangle it drew into, {x0, y0, x1, y1} with
// exclusive ends, or null (the undo history keeps that rectangle's previous bytes, history.js).
// Loaded as a plain script (browser) or in a node vm (unit test).
'use strict';

(function (root) {
  // Sets (value 1) or clears (value 0) the pixels of a disc of radius r around (cx, cy).
  function stampDisc(mask, width, height, cx, cy, r, value) {
    const y0 = Math.max(0, Math.ceil(cy - r - 0.5));
    const y1 = Math.min(height - 1, Math.floor(cy + r - 0.5));
    let rect = null;
    for (let j = y0; j <= y1; ++j) {
      const dy = j + 0.5 - cy;
      const half = Math.sqrt(Math.max(0, r * r - dy * dy));
      const i0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const i1 = Math.min(width - 1, Math.floor(cx + half - 0.5));
      if (i1 >= i0) {
        mask.fill(value, j * width + i0, j * width + i1 + 1);
        rect = addSpan(rect, i0, i1, j);
      }
    }
    return rect;
  }

  // rect widened to hold the pixels i0..i1 (inclusive) of row j.
  function addSpan(rect, i0, i1, j) {
    if (!rect) return {x0: i0, y0: j, x1: i1 + 1, y1: j + 1};
    return {x0: Math.min(rect.x0, i0), y0: Math.min(rect.y0, j),
            x1: Math.max(rect.x1, i1 + 1), y1: Math.max(rect.y1, j + 1)};
  }

  function union(a, b) {
    return !a ? b : !b ? a : {x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0),
                              x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1)};
  }

  // A stroke from a to b: discs every r / 2 along the segment, so no gaps at any speed.
  function stampLine(mask, width, height, a, b, r, value) {
    const d = Math.hypot(b.x - a.x, b.y - a.y);
    const steps = Math.max(1, Math.ceil(d / Math.max(0.5, r / 2)));
    let rect = null;
    for (let s = 0; s <= steps; ++s) {
      const t = s / steps;
      rect = union(rect, stampDisc(mask, width, height, a.x + t * (b.x - a.x),
                                   a.y + t * (b.y - a.y), r, value));
    }
    return rect;
  }

  // Fills the polygon [{x, y}, ...] (even-odd rule) with value; scanline at each row's centre.
  function fillPolygon(mask, width, height, points, value) {
    if (points.length < 3) return null;
    const ys = points.map((p) => p.y);
    const j0 = Math.max(0, Math.floor(Math.min(...ys)));
    const j1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
    const xs = [];
    let rect = null;
    for (let j = j0; j <= j1; ++j) {
      const yc = j + 0.5;
      xs.length = 0;
      for (let k = 0; k < points.length; ++k) {
        const p = points[k];
        const q = points[(k + 1) % points.length];
        if ((p.y <= yc) !== (q.y <= yc)) xs.push(p.x + (yc - p.y) * (q.x - p.x) / (q.y - p.y));
      }
      xs.sort((u, v) => u - v);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        // pixels whose centre i + 0.5 lies in [xs[k], xs[k + 1])
        const i0 = Math.max(0, Math.ceil(xs[k] - 0.5));
        const i1 = Math.min(width - 1, Math.ceil(xs[k + 1] - 0.5) - 1);
        if (i1 >= i0) {
          mask.fill(value, j * width + i0, j * width + i1 + 1);
          rect = addSpan(rect, i0, i1, j);
        }
      }
    }
    return rect;
  }

  function countMarked(mask) {
    let n = 0;
    for (let i = 0; i < mask.length; ++i) if (mask[i]) ++n;
    return n;
  }

  // Dice of two masks (1 when both are empty: both say "nothing here", as scoring/consensus.h).
  function dice(a, b) {
    let both = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; ++i) {
      const x = a[i] ? 1 : 0;
      const y = b[i] ? 1 : 0;
      na += x;
      nb += y;
      both += x & y;
    }
    return na + nb === 0 ? 1 : (2 * both) / (na + nb);
  }

  root.skintrackRaster = {stampDisc, stampLine, fillPolygon, countMarked, dice};
})(globalThis);
