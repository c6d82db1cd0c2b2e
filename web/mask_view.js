// A photo with mask layers on canvases, zoom (wheel) and pan (the pan tool, the middle button, or
// a drag with Space held), for photos up to 12 MP and more. Memory: the photo is one ImageBitmap
// and each mask layer one row-major Uint8Array at full image resolution (1 byte a pixel); no
// full-size RGBA copy is made. Each frame samples the masks once per SCREEN pixel (nearest
// neighbour) into an ImageData the size of the view, so the cost follows the view, not the photo.
// Three stacked canvases: the photo, the masks (CSS opacity = mask opacity, so the opacity slider
// costs no redraw) and a vector layer for outlines, boxes and keypoints.
'use strict';

(function (root) {
  const MIN_ZOOM = 1 / 64;
  const MAX_ZOOM = 32;  // screen pixels per image pixel

  class MaskView {
    // image: ImageBitmap (or anything drawImage takes) of width x height pixels.
    constructor(image, width, height) {
      this.image = image;
      this.width = width;
      this.height = height;
      this.layers = [];  // [{key, color: [r, g, b], mask: Uint8Array | null, visible}], top last
      this.scale = 1;    // CSS pixels per image pixel
      this.ox = 0;       // CSS position of image pixel (0, 0) in the view
      this.oy = 0;
      this.panTool = false;
      this.handler = null;  // {down(pt, ev), move(pt, ev, dragging), up(pt, ev), dblclick(pt, ev)}
      this.drawUi = null;   // (ctx, view) with the context in image coordinates
      this.spaceHeld = false;
      this.frame = 0;
      this.el = document.createElement('div');
      this.el.className = 'mask-stage';
      this.base = this.canvas('base');
      this.maskCanvas = this.canvas('masks');
      this.ui = this.canvas('ui');
      this.ui.tabIndex = 0;
      this.fitted = false;
      this.listen();
    }

    canvas(name) {
      const c = document.createElement('canvas');
      c.className = 'layer-' + name;
      this.el.append(c);
      return c;
    }

    setOpacity(value) {
      this.maskCanvas.style.opacity = String(value);
    }

    // Image coordinates (continuous: pixel i spans [i, i + 1)) of a pointer event.
    toImage(ev) {
      const r = this.ui.getBoundingClientRect();
      return {x: (ev.clientX - r.left - this.ox) / this.scale,
              y: (ev.clientY - r.top - this.oy) / this.scale};
    }

    fit() {
      const r = this.el.getBoundingClientRect();
      if (!r.width || !r.height) return;
      this.scale = Math.min(r.width / this.width, r.height / this.height);
      this.ox = (r.width - this.width * this.scale) / 2;
      this.oy = (r.height - this.height * this.scale) / 2;
      this.fitted = true;
      this.requestRender();
    }

    zoomAt(factor, cx, cy) {
      const s = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.scale * factor));
      const f = s / this.scale;
      this.ox = cx - (cx - this.ox) * f;
      this.oy = cy - (cy - this.oy) * f;
      this.scale = s;
      this.requestRender();
    }

    listen() {
      this.ui.addEventListener('wheel', (ev) => {
        ev.preventDefault();
        const r = this.ui.getBoundingClientRect();
        this.zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
      }, {passive: false});
      let drag = null;
      this.ui.addEventListener('pointerdown', (ev) => {
        this.ui.focus({preventScroll: true});
        this.ui.setPointerCapture(ev.pointerId);
        if (this.panTool || ev.button === 1 || this.spaceHeld) {
          drag = {pan: true, x: ev.clientX, y: ev.clientY, ox: this.ox, oy: this.oy};
          return;
        }
        if (ev.button !== 0) return;
        drag = {pan: false};
        if (this.handler && this.handler.down) this.handler.down(this.toImage(ev), ev);
      });
      this.ui.addEventListener('pointermove', (ev) => {
        if (drag && drag.pan) {
          this.ox = drag.ox + ev.clientX - drag.x;
          this.oy = drag.oy + ev.clientY - drag.y;
          this.requestRender();
          return;
        }
        this.hover = this.toImage(ev);
        if (this.handler && this.handler.move) this.handler.move(this.hover, ev, Boolean(drag));
        this.requestRender();
      });
      const end = (ev) => {
        if (drag && !drag.pan && this.handler && this.handler.up) this.handler.up(this.toImage(ev), ev);
        drag = null;
      };
      this.ui.addEventListener('pointerup', end);
      this.ui.addEventListener('pointercancel', end);
      this.ui.addEventListener('pointerleave', () => {
        this.hover = null;
        this.requestRender();
      });
      this.ui.addEventListener('dblclick', (ev) => {
        if (this.handler && this.handler.dblclick) this.handler.dblclick(this.toImage(ev), ev);
      });
      this.ui.addEventListener('keydown', (ev) => {
        if (ev.code === 'Space') {
          this.spaceHeld = true;
          ev.preventDefault();
        }
        if (this.handler && this.handler.key) this.handler.key(ev);
      });
      this.ui.addEventListener('keyup', (ev) => {
        if (ev.code === 'Space') this.spaceHeld = false;
      });
      this.resizeObserver = new ResizeObserver(() => {
        if (!this.fitted) this.fit(); else this.requestRender();
      });
      this.resizeObserver.observe(this.el);
    }

    destroy() {
      this.resizeObserver.disconnect();
      cancelAnimationFrame(this.frame);
    }

    requestRender() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }

    // Sizes the canvases' backing stores to the view (device pixels).
    sizeCanvases() {
      const r = this.el.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(r.width * dpr));
      const hgt = Math.max(1, Math.round(r.height * dpr));
      for (const c of [this.base, this.maskCanvas, this.ui]) {
        if (c.width !== w || c.height !== hgt) {
          c.width = w;
          c.height = hgt;
        }
      }
      return dpr;
    }

    render() {
      const dpr = this.sizeCanvases();
      const t = [dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.ox, dpr * this.oy];
      const b = this.base.getContext('2d');
      b.setTransform(1, 0, 0, 1, 0, 0);
      b.fillStyle = '#222';
      b.fillRect(0, 0, this.base.width, this.base.height);
      b.setTransform(...t);
      b.imageSmoothingEnabled = this.scale < 2;
      b.drawImage(this.image, 0, 0);
      this.renderMasks(dpr);
      const u = this.ui.getContext('2d');
      u.setTransform(1, 0, 0, 1, 0, 0);
      u.clearRect(0, 0, this.ui.width, this.ui.height);
      u.setTransform(...t);
      if (this.drawUi) this.drawUi(u, this);
      // For tests and debugging: where the image is in the view.
      this.el.dataset.scale = String(this.scale);
      this.el.dataset.ox = String(this.ox);
      this.el.dataset.oy = String(this.oy);
      this.el.dataset.rendered = String(Number(this.el.dataset.rendered || 0) + 1);
    }

    renderMasks(dpr) {
      const c = this.maskCanvas;
      const ctx = c.getContext('2d');
      if (!this.maskData || this.maskData.width !== c.width || this.maskData.height !== c.height) {
        this.maskData = ctx.createImageData(c.width, c.height);
        this.cols = new Int32Array(c.width);
      }
      const px = new Uint32Array(this.maskData.data.buffer);
      px.fill(0);
      const layers = this.layers.filter((l) => l.visible && l.mask).reverse();  // top first
      if (layers.length) {
        // RGBA bytes as one little-endian word per pixel.
        const colors = layers.map((l) => (255 << 24 | l.color[2] << 16 | l.color[1] << 8 | l.color[0]) >>> 0);
        const masks = layers.map((l) => l.mask);
        const cols = this.cols;
        const k = 1 / (dpr * this.scale);
        let x0 = c.width;
        let x1 = -1;
        for (let bx = 0; bx < c.width; ++bx) {
          const ix = Math.floor((bx + 0.5) * k - this.ox / this.scale);
          cols[bx] = ix >= 0 && ix < this.width ? ix : -1;
          if (cols[bx] >= 0) {
            if (bx < x0) x0 = bx;
            x1 = bx;
          }
        }
        for (let by = 0; by < c.height; ++by) {
          const iy = Math.floor((by + 0.5) * k - this.oy / this.scale);
          if (iy < 0 || iy >= this.height) continue;
          const row = iy * this.width;
          const out = by * c.width;
          for (let bx = x0; bx <= x1; ++bx) {
            const idx = row + cols[bx];
            for (let l = 0; l < masks.length; ++l) {
              if (masks[l][idx]) {
                px[out + bx] = colors[l];
                break;
              }
            }
          }
        }
      }
      ctx.putImageData(this.maskData, 0, 0);
    }
  }

  root.skintrackMaskView = {MaskView};
})(globalThis);
