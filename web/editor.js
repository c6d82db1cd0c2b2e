// The annotation tools (docs/dashboard.md, "Annotation and review views"): a MaskView with one
// mask per class (a Uint8Array allocated when the class is first drawn on or loaded), the brush,
// eraser and polygon tools, boxes and keypoints, brush size, mask opacity and per-class
// visibility; and the image-level label form. Both give and take the annotation document of
// docs/annotation.md ("The annotation document"); masks go out as RLE, counts as COCO's
// compressed string. Undo / redo (history.js) per stroke, erase, polygon, box and keypoint.
// Used by the annotation view (annotate.js) and by the reviewer's "correct" (review.js).
'use strict';

(function (root) {
  const CLASSES = ['psoriasis_plaque', 'psoriasis_scale', 'vitiligo_depigmented',
                   'vitiligo_envelope', 'skin', 'exclude'];
  const CLASS_COLORS = {
    psoriasis_plaque: [230, 40, 40], psoriasis_scale: [250, 220, 60],
    vitiligo_depigmented: [60, 140, 255], vitiligo_envelope: [160, 90, 230],
    skin: [40, 190, 90], exclude: [120, 120, 120],
  };
  const LESION_CLASS = {psoriasis: 'psoriasis_plaque', vitiligo: 'vitiligo_depigmented'};
  const SUBTYPES = {psoriasis: ['plaque', 'guttate', 'inverse', 'pustular', 'erythrodermic'],
                    vitiligo: ['non_segmental', 'segmental', 'mixed']};
  const KEYPOINT_NAME = /^[a-z0-9_]{1,40}$/;
  const TOOLS = [['brush', 'Brush'], ['eraser', 'Eraser'], ['polygon', 'Polygon'],
                 ['box', 'Box'], ['keypoint', 'Keypoint'], ['pan', 'Pan']];
  const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

  // h: the dashboard's element helper. image: ImageBitmap of width x height. content: a
  // document (masks in either counts form) or null. defaultClass: the class to start with.
  function createEditor(h, image, width, height, content, defaultClass) {
    const {MaskView} = root.skintrackMaskView;
    const raster = root.skintrackRaster;
    const rle = root.skintrackRle;
    const {EditHistory, MaskRecorder} = root.skintrackHistory;
    const history = new EditHistory();
    const recorder = new MaskRecorder(width, height);
    const view = new MaskView(image, width, height);
    const layers = new Map(CLASSES.map((c) => [c, {key: c, color: CLASS_COLORS[c], mask: null,
                                                   visible: true}]));
    view.layers = [...layers.values()];
    const ed = {tool: 'brush', cls: defaultClass || CLASSES[0], radius: 12, boxes: [],
                keypoints: [], polygon: [], boxDraft: null, last: null, dirty: false};
    const message = h('p', {class: 'error small', id: 'editor-message', role: 'alert'});

    function changed() {
      ed.dirty = true;
      view.requestRender();
      refreshLists();
    }
    const clampX = (x) => Math.min(Math.max(x, 0), width);
    const clampY = (y) => Math.min(Math.max(y, 0), height);
    const round1 = (v) => Math.round(v * 10) / 10;

    // --- tools on the canvas ---------------------------------------------------------------------
    view.handler = {
      down(pt, ev) {
        message.textContent = '';
        if (ed.tool === 'brush' || ed.tool === 'eraser') {
          finishEdit();
          const mask = recorder.begin(layers.get(ed.cls));
          recorder.touch(raster.stampDisc(mask, width, height, pt.x, pt.y, ed.radius,
                                          ed.tool === 'brush' ? 1 : 0));
          ed.last = pt;
          changed();
        } else if (ed.tool === 'polygon') {
          const first = ed.polygon[0];
          const near = first && Math.hypot(first.x - pt.x, first.y - pt.y) * view.scale < 8;
          if (near && ed.polygon.length >= 3) closePolygon(); else ed.polygon.push(pt);
          view.requestRender();
        } else if (ed.tool === 'box') {
          ed.boxDraft = {a: pt, b: pt};
        } else if (ed.tool === 'keypoint') {
          addKeypoint(pt);
        }
      },
      move(pt, ev, dragging) {
        if (!dragging) return;
        if ((ed.tool === 'brush' || ed.tool === 'eraser') && ed.last && recorder.active) {
          recorder.touch(raster.stampLine(recorder.edit.layer.mask, width, height, ed.last, pt,
                                          ed.radius, ed.tool === 'brush' ? 1 : 0));
          ed.last = pt;
          changed();
        } else if (ed.tool === 'box' && ed.boxDraft) {
          ed.boxDraft.b = pt;
        }
      },
      up(pt) {
        ed.last = null;
        finishEdit();  // the stroke is one step
        if (ed.tool === 'box' && ed.boxDraft) {
          const {a} = ed.boxDraft;
          const x0 = Math.round(clampX(Math.min(a.x, pt.x)));
          const y0 = Math.round(clampY(Math.min(a.y, pt.y)));
          const x1 = Math.round(clampX(Math.max(a.x, pt.x)));
          const y1 = Math.round(clampY(Math.max(a.y, pt.y)));
          ed.boxDraft = null;
          if (x1 - x0 >= 1 && y1 - y0 >= 1) {
            editLists(() => ed.boxes.push({class: ed.cls, x: x0, y: y0, width: x1 - x0,
                                           height: y1 - y0}));
          }
          view.requestRender();
        }
      },
      dblclick() {
        if (ed.tool === 'polygon' && ed.polygon.length >= 3) closePolygon();
      },
      key(ev) {
        if (ed.tool !== 'polygon') return;
        if (ev.key === 'Enter' && ed.polygon.length >= 3) closePolygon();
        if (ev.key === 'Escape') {
          ed.polygon = [];
          view.requestRender();
        }
      },
    };

    function closePolygon() {
      // A double click also adds its point(s) on the way: drop repeats of the last vertex.
      const pts = ed.polygon.filter((p, i, a) => i === 0 ||
                                    Math.hypot(p.x - a[i - 1].x, p.y - a[i - 1].y) > 1e-6);
      ed.polygon = [];
      if (pts.length >= 3) {
        finishEdit();
        recorder.touch(raster.fillPolygon(recorder.begin(layers.get(ed.cls)), width, height, pts, 1));
        finishEdit();
        changed();
      }
      view.requestRender();
    }

    function addKeypoint(pt) {
      const name = keypointName.value.trim();
      if (!KEYPOINT_NAME.test(name)) {
        message.textContent = 'Name the keypoint first: 1-40 of a-z, 0-9 and _ (e.g. navel).';
        return;
      }
      editLists(() => {
        ed.keypoints = ed.keypoints.filter((k) => k.name !== name);  // a name is unique: move it
        ed.keypoints.push({name, x: round1(Math.min(clampX(pt.x), width - 0.1)),
                           y: round1(Math.min(clampY(pt.y), height - 0.1))});
      });
    }

    // --- undo and redo -----------------------------------------------------------------------------
    // The open mask edit (a stroke in progress) becomes a step of the history.
    function finishEdit() {
      const step = recorder.end();
      if (step) history.push(step);
      updateHistoryButtons();
    }

    // A change of the boxes or keypoints as a step: copies of both lists before and after (small).
    function editLists(mutate) {
      const copy = () => ({boxes: ed.boxes.map((b) => Object.assign({}, b)),
                           keypoints: ed.keypoints.map((k) => Object.assign({}, k))});
      const before = copy();
      mutate();
      const after = copy();
      const restore = (state) => {
        ed.boxes = state.boxes.map((b) => Object.assign({}, b));
        ed.keypoints = state.keypoints.map((k) => Object.assign({}, k));
      };
      const items = before.boxes.length + before.keypoints.length + after.boxes.length +
                    after.keypoints.length;
      history.push({bytes: 64 * (items + 1), undo: () => restore(before), redo: () => restore(after)});
      changed();
      updateHistoryButtons();
    }

    function undoRedo(redo) {
      finishEdit();
      if (!(redo ? history.redo() : history.undo())) return;
      changed();
      updateHistoryButtons();
    }

    // Ctrl+Z / Ctrl+Shift+Z (Cmd on a Mac; Ctrl+Y redoes too) anywhere on the page except while
    // typing in a text field, where they stay the field's own undo.
    function onKey(ev) {
      if (!(ev.ctrlKey || ev.metaKey) || ev.altKey) return;
      const key = ev.key.toLowerCase();
      if (key !== 'z' && key !== 'y') return;
      const t = ev.target;
      if (t && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' &&
                ['text', 'search', 'number', 'email', 'url'].includes(t.type)))) return;
      ev.preventDefault();
      undoRedo(key === 'y' || ev.shiftKey);
    }
    document.addEventListener('keydown', onKey);

    view.drawUi = (ctx, v) => {
      const px = 1 / v.scale;  // one screen pixel in image units
      ctx.lineWidth = 2 * px;
      for (const b of ed.boxes) {
        ctx.strokeStyle = rgb(CLASS_COLORS[b.class] || [255, 255, 255]);
        ctx.strokeRect(b.x, b.y, b.width, b.height);
      }
      if (ed.boxDraft) {
        const {a, b} = ed.boxDraft;
        ctx.setLineDash([6 * px, 4 * px]);
        ctx.strokeStyle = rgb(CLASS_COLORS[ed.cls]);
        ctx.strokeRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
        ctx.setLineDash([]);
      }
      ctx.font = `${12 * px}px system-ui, sans-serif`;
      for (const k of ed.keypoints) {
        ctx.fillStyle = '#fff';
        ctx.strokeStyle = '#000';
        ctx.beginPath();
        ctx.arc(k.x, k.y, 4 * px, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
        ctx.fillText(k.name, k.x + 6 * px, k.y - 6 * px);
      }
      if (ed.polygon.length) {
        ctx.strokeStyle = rgb(CLASS_COLORS[ed.cls]);
        ctx.beginPath();
        ed.polygon.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
        if (v.hover) ctx.lineTo(v.hover.x, v.hover.y);
        ctx.stroke();
      }
      if (v.hover && (ed.tool === 'brush' || ed.tool === 'eraser')) {
        ctx.strokeStyle = ed.tool === 'brush' ? '#fff' : '#ff0';
        ctx.beginPath();
        ctx.arc(v.hover.x, v.hover.y, ed.radius, 0, 2 * Math.PI);
        ctx.stroke();
      }
    };

    // --- toolbar ---------------------------------------------------------------------------------
    const toolButtons = TOOLS.map(([tool, label]) => h('label', {class: 'tool'},
        h('input', {type: 'radio', name: 'tool', value: tool, id: `tool-${tool}`,
                    checked: tool === ed.tool}), ' ', label));
    const classSelect = h('select', {id: 'mask-class', 'aria-label': 'class'},
        CLASSES.map((c) => h('option', {value: c, selected: c === ed.cls}, c)));
    const size = h('input', {type: 'range', id: 'brush-size', min: 1, max: 400, value: ed.radius,
                             'aria-label': 'brush radius in image pixels'});
    const sizeText = h('span', {class: 'small muted', id: 'brush-size-text'}, `${ed.radius} px`);
    const opacity = h('input', {type: 'range', id: 'mask-opacity', min: 0, max: 100, value: 50,
                                'aria-label': 'mask opacity'});
    const keypointName = h('input', {id: 'keypoint-name', placeholder: 'keypoint name',
                                     size: 14, 'aria-label': 'keypoint name'});
    const zoomText = h('span', {class: 'small muted', id: 'zoom-text'});
    const fitButton = h('button', {type: 'button', id: 'zoom-fit'}, 'Fit');
    const closeButton = h('button', {type: 'button', id: 'polygon-close'}, 'Close polygon');
    const undoButton = h('button', {type: 'button', id: 'undo', title: 'Undo (Ctrl+Z)',
                                    onclick: () => undoRedo(false)}, 'Undo');
    const redoButton = h('button', {type: 'button', id: 'redo', title: 'Redo (Ctrl+Shift+Z)',
                                    onclick: () => undoRedo(true)}, 'Redo');
    const historyText = h('span', {class: 'small muted', id: 'history-text'});
    function updateHistoryButtons() {
      undoButton.disabled = !history.canUndo;
      redoButton.disabled = !history.canRedo;
      historyText.textContent = `undo ${history.done.length}, ` +
          `${(history.bytes / (1024 * 1024)).toFixed(1)} of ${history.limit / (1024 * 1024)} MB`;
    }
    const toolbar = h('div', {class: 'editor-toolbar'}, toolButtons,
        h('label', {}, 'Class ', classSelect), h('label', {}, 'Brush ', size, ' ', sizeText),
        h('label', {}, 'Opacity ', opacity), keypointName, closeButton, undoButton, redoButton,
        historyText, fitButton, zoomText);
    toolbar.addEventListener('change', (ev) => {
      if (ev.target.name === 'tool') {
        finishEdit();
        ed.tool = ev.target.value;
        ed.polygon = [];
        view.panTool = ed.tool === 'pan';
        view.el.dataset.tool = ed.tool;
        view.requestRender();
      }
    });
    classSelect.addEventListener('change', () => { ed.cls = classSelect.value; });
    size.addEventListener('input', () => {
      ed.radius = Number(size.value);
      sizeText.textContent = `${ed.radius} px`;
      view.requestRender();
    });
    opacity.addEventListener('input', () => view.setOpacity(Number(opacity.value) / 100));
    view.setOpacity(0.5);
    fitButton.addEventListener('click', () => view.fit());
    closeButton.addEventListener('click', () => {
      if (ed.polygon.length >= 3) closePolygon();
    });
    const baseRender = view.render.bind(view);
    view.render = () => {
      baseRender();
      zoomText.textContent = `zoom ${Math.round(view.scale * 100)} %`;
    };

    // --- legend with visibility and the lists of boxes and keypoints ------------------------------
    const legend = h('div', {class: 'legend-row', id: 'class-legend'}, CLASSES.map((c) => h('label', {},
        h('input', {type: 'checkbox', id: `show-${c}`, checked: true, onchange: (ev) => {
          layers.get(c).visible = ev.target.checked;
          view.requestRender();
        }}), h('i', {class: 'swatch', style: undefined, 'data-class': c}), c)));
    const lists = h('div', {class: 'editor-lists small'});
    function refreshLists() {
      lists.replaceChildren(
          h('div', {id: 'box-list'}, h('strong', {}, `Boxes (${ed.boxes.length}) `),
            ed.boxes.map((b, i) => h('span', {class: 'chip'}, `${b.class} ${b.x},${b.y} ${b.width}×${b.height} `,
              h('button', {type: 'button', class: 'link', 'aria-label': 'delete box',
                           onclick: () => editLists(() => ed.boxes.splice(i, 1))}, '×')))),
          h('div', {id: 'keypoint-list'}, h('strong', {}, `Keypoints (${ed.keypoints.length}) `),
            ed.keypoints.map((k, i) => h('span', {class: 'chip'}, `${k.name} ${k.x},${k.y} `,
              h('button', {type: 'button', class: 'link', 'aria-label': 'delete keypoint',
                           onclick: () => editLists(() => ed.keypoints.splice(i, 1))}, '×')))));
    }

    // --- document in and out -----------------------------------------------------------------------
    function load(doc) {
      recorder.end();
      history.clear();  // its steps are of the masks replaced here
      for (const layer of layers.values()) layer.mask = null;
      for (const [cls, m] of Object.entries((doc && doc.masks) || {})) {
        if (!layers.has(cls)) throw new Error(`unknown mask class ${cls}`);
        layers.get(cls).mask = rle.decodeMask(m, width, height);
      }
      ed.boxes = ((doc && doc.boxes) || []).map((b) => Object.assign({}, b));
      ed.keypoints = ((doc && doc.keypoints) || []).map((k) => Object.assign({}, k));
      ed.dirty = false;
      refreshLists();
      updateHistoryButtons();
      view.requestRender();
    }

    // masks, boxes, keypoints of the document (labels come from the label form). Every class that
    // was drawn on or loaded is sent, even if erased to nothing: an empty mask says "none here".
    function toDocument() {
      finishEdit();
      const doc = {masks: {}, boxes: ed.boxes.map((b) => Object.assign({}, b)),
                   keypoints: ed.keypoints.map((k) => Object.assign({}, k))};
      for (const [cls, layer] of layers) {
        if (layer.mask) doc.masks[cls] = rle.encodeMask(layer.mask, width, height);
      }
      return doc;
    }

    load(content);
    const el = h('div', {class: 'editor'}, toolbar, legend, view.el, message, lists,
        h('p', {class: 'muted small'}, 'Wheel: zoom at the pointer. Pan: the Pan tool, the middle ',
          'button, or drag with Space held. Polygon: click the corners, then double-click, Enter, ',
          'click the first corner or "Close polygon"; Esc drops it. Brush size is in image pixels. ',
          'Undo: Ctrl+Z, redo: Ctrl+Shift+Z.'));
    for (const sw of legend.querySelectorAll('i.swatch')) {
      sw.style.background = rgb(CLASS_COLORS[sw.dataset.class]);
    }
    return {el, view, load, toDocument, isDirty: () => ed.dirty, layers, history,
            destroy: () => {
              document.removeEventListener('keydown', onKey);
              view.destroy();
            }};
  }

  // The image-level labels (docs/annotation.md): every field optional. `locations` are body-site
  // names of `skintrack sites`, comma separated; the server checks them (and everything else).
  function createLabelForm(h, labels, defaults) {
    const l = labels || {};
    const select = (name, options, value) => h('div', {class: 'row'},
        h('label', {for: `label-${name}`}, name.replace('_', ' ')),
        h('select', {id: `label-${name}`, name},
          h('option', {value: ''}, '—'),
          options.map((o) => h('option', {value: String(o), selected: value !== undefined &&
                                          value !== null && String(value) === String(o)}, String(o)))));
    const range = (a, b) => Array.from({length: b - a + 1}, (_, i) => a + i);
    const diagnosis = l.diagnosis || (defaults && defaults.diagnosis) || '';
    const form = h('form', {class: 'card grades', id: 'label-form'}, h('h3', {}, 'Labels'),
        select('diagnosis', ['psoriasis', 'vitiligo'], diagnosis),
        h('div', {class: 'row', id: 'subtype-row'}),
        select('erythema', range(0, 4), l.erythema), select('induration', range(0, 4), l.induration),
        select('desquamation', range(0, 4), l.desquamation),
        h('div', {class: 'row'}, h('label', {for: 'label-locations'}, 'locations'),
          h('input', {id: 'label-locations', name: 'locations', size: 30,
                      value: (l.locations || (defaults && defaults.locations) || []).join(', '),
                      placeholder: 'body sites, comma separated'})),
        select('fitzpatrick', range(1, 6), l.fitzpatrick), select('monk', range(1, 10), l.monk),
        select('image_quality', range(1, 5), l.image_quality));
    const subtypeRow = form.querySelector('#subtype-row');
    function fillSubtypes(dx, value) {
      subtypeRow.replaceChildren(h('label', {for: 'label-subtype'}, 'subtype'),
          h('select', {id: 'label-subtype', name: 'subtype', disabled: !SUBTYPES[dx]},
            h('option', {value: ''}, '—'),
            (SUBTYPES[dx] || []).map((s) => h('option', {value: s, selected: s === value}, s))));
    }
    fillSubtypes(diagnosis, l.subtype);
    form.querySelector('#label-diagnosis').addEventListener('change', (ev) => fillSubtypes(ev.target.value, ''));
    form.addEventListener('submit', (ev) => ev.preventDefault());

    function get() {
      const out = {};
      const value = (name) => form.querySelector(`[name="${name}"]`).value;
      if (value('diagnosis')) out.diagnosis = value('diagnosis');
      if (value('subtype')) out.subtype = value('subtype');
      for (const n of ['erythema', 'induration', 'desquamation', 'fitzpatrick', 'monk', 'image_quality']) {
        if (value(n) !== '') out[n] = Number(value(n));
      }
      const locations = value('locations').split(',').map((s) => s.trim()).filter(Boolean);
      if (locations.length) out.locations = locations;
      return out;
    }
    return {el: form, get};
  }

  root.skintrackEditor = {createEditor, createLabelForm, CLASSES, CLASS_COLORS, LESION_CLASS};
})(globalThis);
