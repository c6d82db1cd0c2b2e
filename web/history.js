// Undo and redo of the annotation tools (docs/dashboard.md, "Annotation and review views").
// A step is {bytes, undo(), redo()}. A mask step keeps only the bounding rectangle of the pixels
// the stroke, polygon or erase changed, as one buffer: undo swaps it with the mask's bytes there
// (so it then holds the "after" bytes for redo), redo swaps back. The history holds at most
// `limitBytes` of such buffers (64 MiB by default) and drops the oldest steps beyond it.
// Loaded as a plain script (browser) or in a node vm (unit test).
'use strict';

(function (root) {
  const DEFAULT_LIMIT = 64 * 1024 * 1024;

  class EditHistory {
    constructor(limitBytes = DEFAULT_LIMIT) {
      this.limit = limitBytes;
      this.done = [];    // oldest first
      this.undone = [];  // the next redo last
      this.bytes = 0;    // of the steps in both lists
    }

    // A new step: what was undone cannot be redone any more. A step larger than the whole limit
    // is not kept, and the older ones cannot be undone past it either: the history is cleared.
    push(step) {
      for (const s of this.undone) this.bytes -= s.bytes;
      this.undone = [];
      if (step.bytes > this.limit) {
        this.clear();
        return;
      }
      this.done.push(step);
      this.bytes += step.bytes;
      while (this.bytes > this.limit) this.bytes -= this.done.shift().bytes;
    }

    undo() {
      const step = this.done.pop();
      if (!step) return false;
      step.undo();
      this.undone.push(step);
      return true;
    }

    redo() {
      const step = this.undone.pop();
      if (!step) return false;
      step.redo();
      this.done.push(step);
      return true;
    }

    clear() {
      this.done = [];
      this.undone = [];
      this.bytes = 0;
    }

    get canUndo() { return this.done.length > 0; }
    get canRedo() { return this.undone.length > 0; }
  }

  // Rectangles are {x0, y0, x1, y1}, ends exclusive, in image pixels; null is "nothing".
  function unionRect(a, b) {
    if (!a) return b;
    if (!b) return a;
    return {x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0),
            x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1)};
  }

  // The smallest rectangle inside `rect` holding every pixel where masks a and b differ, or null.
  function changedRect(a, b, width, rect) {
    let out = null;
    for (let y = rect.y0; y < rect.y1; ++y) {
      const row = y * width;
      let x0 = -1;
      let x1 = -1;
      for (let x = rect.x0; x < rect.x1; ++x) {
        if (a[row + x] !== b[row + x]) {
          if (x0 < 0) x0 = x;
          x1 = x;
        }
      }
      if (x0 >= 0) out = unionRect(out, {x0, y0: y, x1: x1 + 1, y1: y + 1});
    }
    return out;
  }

  function cropRect(mask, width, rect) {
    const w = rect.x1 - rect.x0;
    const out = new Uint8Array(w * (rect.y1 - rect.y0));
    for (let y = rect.y0; y < rect.y1; ++y) {
      out.set(mask.subarray(y * width + rect.x0, y * width + rect.x1), (y - rect.y0) * w);
    }
    return out;
  }

  // Exchanges the mask's bytes in rect with buf's (rect's size, row-major).
  function swapRect(mask, width, rect, buf) {
    const w = rect.x1 - rect.x0;
    for (let y = rect.y0; y < rect.y1; ++y) {
      const m = y * width + rect.x0;
      const b = (y - rect.y0) * w;
      for (let x = 0; x < w; ++x) {
        const v = mask[m + x];
        mask[m + x] = buf[b + x];
        buf[b + x] = v;
      }
    }
  }

  // Records one edit of one layer ({mask: Uint8Array | null}) as a step. begin() copies the mask
  // into a scratch buffer (one for the editor, reused: the pixels a stroke will touch are not
  // known when it starts); touch() widens the edit to the rectangles the tools report; end() keeps
  // the previous bytes of the rectangle of the pixels that really changed. A layer whose mask the
  // edit allocated loses it again on undo (the class is then not sent, as before the edit).
  class MaskRecorder {
    constructor(width, height) {
      this.width = width;
      this.height = height;
      this.scratch = null;
      this.edit = null;
    }

    get active() { return this.edit !== null; }

    begin(layer) {
      const created = !layer.mask;
      if (created) layer.mask = new Uint8Array(this.width * this.height);
      if (!this.scratch) this.scratch = new Uint8Array(this.width * this.height);
      this.scratch.set(layer.mask);
      this.edit = {layer, created, rect: null};
      return layer.mask;
    }

    touch(rect) {
      if (this.edit) this.edit.rect = unionRect(this.edit.rect, rect);
    }

    // The step of the edit, or null when it changed no pixel.
    end() {
      const edit = this.edit;
      this.edit = null;
      if (!edit || !edit.rect) return null;
      const {layer, created} = edit;
      const {width, height} = this;
      const rect = changedRect(this.scratch, layer.mask, width, edit.rect);
      if (!rect) return null;
      const buf = cropRect(this.scratch, width, rect);
      return {
        bytes: buf.length, rect,
        undo() {
          swapRect(layer.mask, width, rect, buf);
          if (created) layer.mask = null;  // all zero again: as if never drawn on
        },
        redo() {
          if (!layer.mask) layer.mask = new Uint8Array(width * height);
          swapRect(layer.mask, width, rect, buf);
        },
      };
    }
  }

  root.skintrackHistory = {EditHistory, MaskRecorder, unionRect, changedRect, DEFAULT_LIMIT};
})(globalThis);
