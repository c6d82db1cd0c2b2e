// The reviewer's side of the dashboard (clinicians, admins; docs/dashboard.md, "Annotation and
// review views"):
//   #/review/{id}                   every annotator's mask in its own colour beside the consensus,
//                                   the agreement figures, accept / correct / reject, build consensus
//   #/review/{id}/correct/{aid}     the annotation tools on that annotator's content
//   #/annotations/{aid}             one annotation's versions (refused, 403, for a blind annotator)
// Registered in globalThis.skintrackViews; app.js routes to it and passes its helpers (`app`).
'use strict';

(function (root) {
  const views = (root.skintrackViews = root.skintrackViews || []);
  // Annotator colours: distinct from each other and from the photo's skin tones.
  const PALETTE = [[0, 170, 255], [255, 120, 0], [200, 0, 200], [0, 200, 120], [255, 230, 0],
                   [120, 80, 255], [255, 60, 120], [0, 120, 120]];
  const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  let flash = '';

  function swatch(h, color) {
    const el = h('i', {class: 'swatch'});
    el.style.background = rgb(color);  // CSSOM, allowed by the CSP (no inline style attribute)
    return el;
  }

  // The latest stored consensus figures (404: none built yet).
  async function latestConsensus(app, id) {
    try {
      return await app.getJson(`/v1/captures/${id}/consensus`);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  async function post(app, path, body) {
    const res = await app.api(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                     body: JSON.stringify(body)});
    return res.json();
  }

  // --- the review view ---------------------------------------------------------------------------

  async function renderReview(app, id) {
    const {h} = app;
    app.leave();
    const hash = location.hash;
    app.main.replaceChildren(h('h1', {}, `Review capture ${id}`), h('p', {class: 'muted'}, 'Loading…'));
    let capture;
    let list;
    let consensus;
    let bitmap;
    try {
      [capture, list, consensus, bitmap] = await Promise.all([
        app.getJson(`/v1/captures/${id}`), app.getJson(`/v1/captures/${id}/annotations`),
        latestConsensus(app, id), root.skintrackAnnotate.loadBitmap(app, id)]);
    } catch (err) {
      return app.fail(err);
    }
    if (location.hash !== hash) return;
    const editors = root.skintrackEditor;
    const rle = root.skintrackRle;
    const annotations = list.annotations;
    const colorOf = new Map(annotations.map((a, i) => [a.annotation_id, PALETTE[i % PALETTE.length]]));
    // Short names for the tables (A1, A2, ...); the author ids are long.
    annotations.forEach((a, i) => { a.short = `A${i + 1}`; });
    const {MaskView} = root.skintrackMaskView;
    const view = new MaskView(bitmap, bitmap.width, bitmap.height);
    view.panTool = true;  // nothing to draw here: a drag pans
    view.setOpacity(0.55);
    app.state.leave = () => view.destroy();
    const classSelect = h('select', {id: 'review-class', 'aria-label': 'class'},
        editors.CLASSES.map((c) => h('option', {value: c,
                                                selected: c === editors.LESION_CLASS[capture.condition]}, c)));

    // Each annotator's mask of the chosen class, decoded once per class.
    function masksOf(cls) {
      return annotations.map((a) => {
        const m = a.content && a.content.masks && a.content.masks[cls];
        return m ? rle.decodeMask(m, bitmap.width, bitmap.height) : null;
      });
    }
    const toggles = h('div', {class: 'legend-row', id: 'annotator-toggles'});
    const pairwise = h('div', {id: 'pairwise'});
    function showClass() {
      const masks = masksOf(classSelect.value);
      view.layers = annotations.map((a, i) => ({key: a.annotation_id, color: colorOf.get(a.annotation_id),
                                                mask: masks[i], visible: true}));
      toggles.replaceChildren(...annotations.map((a, i) => h('label', {},
          h('input', {type: 'checkbox', id: `toggle-ann-${a.annotation_id}`, checked: true,
                      disabled: !masks[i], onchange: (ev) => {
                        view.layers[i].visible = ev.target.checked;
                        view.requestRender();
                      }}),
          swatch(h, colorOf.get(a.annotation_id)), `${a.short} `, a.author, masks[i] ? '' : ' (no mask)')));
      pairwise.replaceChildren(pairwiseTable(h, annotations, masks, colorOf));
      view.requestRender();
    }
    classSelect.addEventListener('change', showClass);

    const consensusImg = h('img', {id: 'consensus-mask', alt: 'the capture\'s lesion mask'});
    const consensusFigure = h('figure', {}, h('figcaption', {id: 'lesion-provenance'},
                                              lesionCaption(capture)), consensusImg);
    const message = flash ? h('p', {class: 'notice', id: 'review-flash', role: 'status'}, flash) : null;
    flash = '';
    app.main.replaceChildren(...[
      h('h1', {}, `Review capture ${id} `,
        h('span', {class: 'muted'}, root.skintrackAnnotate.describe(capture))),
      h('p', {}, h('a', {href: `#/patients/${encodeURIComponent(capture.patient)}/captures/${id}`},
                   '← capture'), ' · ', h('a', {href: '#/annotate'}, 'annotation queue')),
      message,
      h('div', {class: 'review-grid'},
        h('section', {class: 'card', id: 'review-masks'}, h('h3', {}, 'Annotators\' masks'),
          h('div', {class: 'editor-toolbar'}, h('label', {}, 'Class ', classSelect),
            h('label', {}, 'Opacity ', h('input', {type: 'range', min: 0, max: 100, value: 55,
                                                   id: 'review-opacity', oninput: (ev) =>
                                                       view.setOpacity(Number(ev.target.value) / 100)})),
            h('button', {type: 'button', onclick: () => view.fit()}, 'Fit')),
          toggles, view.el),
        h('section', {class: 'card', id: 'review-consensus'}, h('h3', {}, 'Consensus'), consensusFigure)),
      annotationTable(app, capture, annotations, colorOf),
      h('div', {class: 'panel-grid'},
        h('section', {class: 'card', id: 'agreement'}, h('h3', {}, 'Agreement'), pairwise,
          consensusFigures(h, consensus)),
        buildCard(app, capture)),
      scoresCard(h, capture, app),
    ].filter(Boolean));
    showClass();
    view.fit();
    loadConsensusImage(app, capture, consensusImg, consensusFigure);
  }

  function lesionCaption(capture) {
    const m = (capture.results || {}).lesion;
    if (!m) return 'No lesion mask yet.';
    return `Lesion mask used for scoring: source ${m.source}, version ${m.version}, ` +
        `${(m.created_at || '').slice(0, 19).replace('T', ' ')}`;
  }

  async function loadConsensusImage(app, capture, img, figure) {
    if (!(capture.results || {}).lesion) return;
    try {
      const url = await app.imageUrl(`/v1/captures/${capture.id}/mask.png`);
      img.onload = () => { img.dataset.loaded = 'true'; };
      img.src = url;
    } catch (err) {
      if (err.status === 401) return app.fail(err);
      figure.append(app.h('p', {class: 'error'}, `Mask failed: ${err.message}`));
    }
  }

  // Dice between every pair of annotators' masks of the shown class, computed here from the masks
  // drawn on the left (the stored figures below are the server's).
  function pairwiseTable(h, annotations, masks, colorOf) {
    const dice = root.skintrackRaster.dice;
    const shown = annotations.map((a, i) => ({a, m: masks[i]})).filter((x) => x.m);
    if (shown.length < 2) return h('p', {class: 'muted'}, 'Pairwise Dice needs two masks of this class.');
    return h('table', {class: 'grid', id: 'pairwise-dice'},
        h('caption', {class: 'small muted'}, 'Pairwise Dice of the masks shown (computed in the browser)'),
        h('thead', {}, h('tr', {}, h('th', {}, ''), shown.map((x) => h('th', {title: x.a.author},
                                                                         swatch(h, colorOf.get(x.a.annotation_id)), x.a.short)))),
        h('tbody', {}, shown.map((x) => h('tr', {}, h('th', {title: x.a.author},
                                                      swatch(h, colorOf.get(x.a.annotation_id)), x.a.short),
            shown.map((y) => h('td', {class: 'num'}, x === y ? '—' : dice(x.m, y.m).toFixed(3)))))));
  }

  function consensusFigures(h, c) {
    if (!c) return h('p', {class: 'muted', id: 'consensus-figures'}, 'No consensus built yet.');
    const f = (v) => (typeof v === 'number' ? v.toFixed(3) : '—');
    return h('div', {id: 'consensus-figures'},
        h('dl', {class: 'kv'},
          h('dt', {}, 'Method'), h('dd', {id: 'consensus-method-used'}, c.method),
          h('dt', {}, 'Annotators'), h('dd', {}, c.annotators),
          h('dt', {}, 'Pairwise Dice (mean)'), h('dd', {id: 'pairwise-mean'}, f(c.pairwise_dice_mean)),
          h('dt', {}, 'Consensus fraction'), h('dd', {}, `${(100 * c.consensus_fraction).toFixed(2)} % of the photo`),
          h('dt', {}, 'Built'), h('dd', {}, c.created_at || '—')),
        h('table', {class: 'grid', id: 'per-annotator'},
          h('thead', {}, h('tr', {}, ['Annotator', 'Dice vs consensus', 'Dice vs others',
                                      'Sensitivity', 'Specificity'].map((t) => h('th', {}, t)))),
          h('tbody', {}, c.per_annotator.map((p) => h('tr', {'data-annotation': p.annotation_id},
              h('td', {}, p.author), h('td', {class: 'num'}, f(p.dice_vs_consensus)),
              h('td', {class: 'num'}, f(p.dice_vs_others)), h('td', {class: 'num'}, f(p.sensitivity)),
              h('td', {class: 'num'}, f(p.specificity)))))));
  }

  function annotationTable(app, capture, annotations, colorOf) {
    const {h} = app;
    const status = h('p', {id: 'review-status', role: 'status'});
    const rows = annotations.map((a) => {
      const note = h('input', {class: 'review-note', placeholder: 'note', size: 18,
                               'aria-label': `review note for ${a.author}`});
      const reviewable = a.state === 'submitted';
      const decide = async (decision) => {
        if (decision === 'rejected' && !note.value.trim()) {
          status.className = 'error';
          status.textContent = 'Say why in the note when rejecting.';
          return;
        }
        status.className = 'muted';
        status.textContent = 'Saving…';
        try {
          const v = await post(app, `/v1/annotations/${a.annotation_id}/review`,
                               {decision, expected_version: a.version, note: note.value.trim()});
          flash = `${a.author}: ${v.decision} (version ${v.version}).`;
          renderReview(app, capture.id);
        } catch (err) {
          if (err.status === 401) return app.fail(err);
          status.className = 'error';
          status.textContent = `Not saved: ${err.message} (${err.code})`;
        }
      };
      return h('tr', {'data-annotation': a.annotation_id},
          h('td', {}, swatch(h, colorOf.get(a.annotation_id)), `${a.short} `, a.author,
            h('span', {class: 'muted small'}, ` ${a.author_role}`)),
          h('td', {class: 'num'}, a.version), h('td', {class: 'state'}, a.state),
          h('td', {class: 'decision'}, a.decision || '—'), h('td', {}, a.note || ''),
          h('td', {}, note, ' ',
            h('button', {type: 'button', class: 'accept', disabled: !reviewable,
                         onclick: () => decide('accepted')}, 'Accept'), ' ',
            h('button', {type: 'button', class: 'correct', disabled: !reviewable,
                         onclick: () => app.go(`#/review/${capture.id}/correct/${a.annotation_id}`)}, 'Correct'), ' ',
            h('button', {type: 'button', class: 'reject', disabled: !reviewable,
                         onclick: () => decide('rejected')}, 'Reject'), ' ',
            h('a', {href: `#/annotations/${a.annotation_id}`, class: 'small'}, 'versions')));
    });
    return h('section', {class: 'card', id: 'review-annotations'}, h('h3', {}, 'Annotations'),
        annotations.length
            ? h('table', {class: 'grid', id: 'annotation-table'},
                h('thead', {}, h('tr', {}, ['Annotator', 'Version', 'State', 'Decision', 'Note', 'Review']
                                              .map((t) => h('th', {}, t)))),
                h('tbody', {}, rows))
            : h('p', {class: 'muted'}, 'No submitted annotations yet (drafts are their authors\' own).'),
        status);
  }

  function buildCard(app, capture) {
    const {h} = app;
    const method = h('select', {id: 'consensus-method', 'aria-label': 'consensus method'},
                     h('option', {value: 'majority'}, 'majority vote'), h('option', {value: 'staple'}, 'STAPLE'));
    const button = h('button', {type: 'button', id: 'build-consensus', class: 'primary'}, 'Build consensus');
    const status = h('p', {id: 'consensus-status', role: 'status'});
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.className = 'muted';
      status.textContent = 'Building…';
      try {
        const c = await post(app, `/v1/captures/${capture.id}/consensus`, {method: method.value});
        flash = `Consensus built (${c.method}, ${c.annotators} annotators); the capture was rescored.`;
        renderReview(app, capture.id);
      } catch (err) {
        if (err.status === 401) return app.fail(err);
        button.disabled = false;
        status.className = 'error';
        status.textContent = `Not built: ${err.message} (${err.code})`;
      }
    });
    return h('section', {class: 'card', id: 'build'}, h('h3', {}, 'Build the consensus'),
        h('p', {class: 'muted small'}, 'From the submitted and accepted or corrected annotations\' ',
          'lesion masks; it becomes the capture\'s lesion mask (source consensus, the automated one ',
          'stays) and the capture is rescored.'),
        method, ' ', button, status);
  }

  // The capture's latest results with their source and how they were made: after a consensus the
  // lesion mask and the scores computed from it say `consensus`.
  function scoresCard(h, capture, app) {
    const rows = Object.values(capture.results || {}).map((r) => {
      const p = r.provenance || {};
      const made = Object.entries(p).filter(([, v]) => v !== null && typeof v !== 'object')
          .map(([k, v]) => `${k}: ${v}`).join(', ');
      return h('tr', {'data-name': r.name}, h('td', {}, r.name),
          h('td', {class: 'num'}, typeof r.value === 'number' ? app.fmt(r.value, 3) : '—'),
          h('td', {class: 'source'}, app.provTag(r.source)), h('td', {class: 'num'}, r.version),
          h('td', {class: 'muted small'}, made));
    });
    return h('section', {class: 'card', id: 'consensus-scores'}, h('h3', {}, 'Capture results and their provenance'),
        h('table', {class: 'grid'},
          h('thead', {}, h('tr', {}, ['Result', 'Value', 'Source', 'Version', 'Provenance']
                                        .map((t) => h('th', {}, t)))),
          h('tbody', {}, rows)));
  }

  // --- a reviewer's correction --------------------------------------------------------------------

  async function renderCorrect(app, id, annotationId) {
    const {h} = app;
    app.leave();
    const hash = location.hash;
    app.main.replaceChildren(h('h1', {}, `Correct annotation ${annotationId}`),
                             h('p', {class: 'muted'}, 'Loading…'));
    let capture;
    let target;
    let bitmap;
    try {
      const [c, list, b] = await Promise.all([app.getJson(`/v1/captures/${id}`),
        app.getJson(`/v1/captures/${id}/annotations`), root.skintrackAnnotate.loadBitmap(app, id)]);
      capture = c;
      bitmap = b;
      target = list.annotations.find((a) => a.annotation_id === annotationId);
    } catch (err) {
      return app.fail(err);
    }
    if (location.hash !== hash) return;
    if (!target) return app.fail(new Error(`annotation ${annotationId} is not one of capture ${id}'s`));
    const editors = root.skintrackEditor;
    const editor = editors.createEditor(h, bitmap, bitmap.width, bitmap.height, target.content,
                                        editors.LESION_CLASS[capture.condition]);
    app.state.leave = () => editor.destroy();
    const labels = editors.createLabelForm(h, target.content && target.content.labels, null);
    const note = h('textarea', {id: 'correction-note', placeholder: 'what you corrected'});
    const status = h('p', {id: 'correction-status', role: 'status'});
    const submit = h('button', {type: 'button', id: 'submit-correction', class: 'primary',
                                disabled: target.state !== 'submitted'}, 'Save as corrected');
    submit.addEventListener('click', async () => {
      submit.disabled = true;
      try {
        const v = await post(app, `/v1/annotations/${annotationId}/review`, {
          decision: 'corrected', expected_version: target.version, note: note.value.trim(),
          content: Object.assign(editor.toDocument(), {labels: labels.get()})});
        flash = `${target.author}: corrected (version ${v.version}).`;
        app.go(`#/review/${id}`);
      } catch (err) {
        if (err.status === 401) return app.fail(err);
        submit.disabled = false;
        status.className = 'error';
        status.textContent = `Not saved: ${err.message} (${err.code})`;
      }
    });
    app.main.replaceChildren(
        h('h1', {}, `Correct ${target.author}'s annotation `,
          h('span', {class: 'muted'}, `capture ${id}, version ${target.version}, ${target.state}`)),
        h('p', {}, h('a', {href: `#/review/${id}`}, '← review')),
        h('div', {class: 'annotate-grid'},
          h('section', {class: 'card', id: 'annotation-editor'}, editor.el),
          h('div', {}, labels.el, h('div', {class: 'card'}, note, submit, status))));
    editor.view.fit();
  }

  // --- one annotation's versions -------------------------------------------------------------------

  async function renderVersions(app, annotationId) {
    const {h} = app;
    app.leave();
    app.main.replaceChildren(h('h1', {}, `Annotation ${annotationId}`), h('p', {class: 'muted'}, 'Loading…'));
    let data;
    try {
      data = await app.getJson(`/v1/annotations/${annotationId}/versions`);
    } catch (err) {
      app.fail(err);
      if (err.status === 403) {
        app.main.prepend(h('h1', {}, `Annotation ${annotationId}`),
                         h('p', {class: 'notice bad', id: 'blind-refusal'},
                           'Annotation is blind: another annotator\'s work is not shown to you.'));
      }
      return;
    }
    app.main.replaceChildren(h('h1', {}, `Annotation ${annotationId} `,
                               h('span', {class: 'muted'}, `capture ${data.capture_id}`)),
        h('table', {class: 'grid', id: 'version-table'},
          h('thead', {}, h('tr', {}, ['Version', 'State', 'Decision', 'Note', 'By', 'When', 'Content SHA-256']
                                        .map((t) => h('th', {}, t)))),
          h('tbody', {}, data.versions.map((v) => h('tr', {'data-version': v.version},
              h('td', {class: 'num'}, v.version), h('td', {}, v.state), h('td', {}, v.decision || '—'),
              h('td', {}, v.note || ''), h('td', {}, v.actor), h('td', {class: 'muted'}, v.created_at),
              h('td', {class: 'muted small'}, (v.content_sha256 || '').slice(0, 12)))))));
  }

  views.push({pattern: /^#\/review\/(\d+)$/, render: (m, app) => renderReview(app, Number(m[1]))});
  views.push({pattern: /^#\/review\/(\d+)\/correct\/(\d+)$/,
              render: (m, app) => renderCorrect(app, Number(m[1]), Number(m[2]))});
  views.push({pattern: /^#\/annotations\/(\d+)$/, render: (m, app) => renderVersions(app, Number(m[1]))});
})(globalThis);
