// The annotator's side of the dashboard (docs/dashboard.md, "Annotation and review views"):
//   #/annotate        my queue (GET /v1/annotation-queue)
//   #/annotate/{id}   my annotation of capture {id}: the editor (editor.js) and the label form;
//                     save draft / submit / reopen with PUT /v1/captures/{id}/annotations/mine
// Registered in globalThis.skintrackViews; app.js routes to it and passes its helpers (`app`).
'use strict';

(function (root) {
  const views = (root.skintrackViews = root.skintrackViews || []);

  // "token:<id>": the author id the API gives my annotations (the token's 16 hex id).
  function myAuthor(token) {
    const m = /^stk_([0-9a-f]{16})_/.exec(token || '');
    return m ? 'token:' + m[1] : null;
  }

  async function loadBitmap(app, captureId) {
    const blob = await (await app.api(`/v1/captures/${captureId}/image`)).blob();
    return createImageBitmap(blob);
  }

  // The summary of a capture: from my queue, else GET /v1/captures/{id} (clinicians), else only
  // the id (an annotator opening a capture no longer in the queue, e.g. after submitting).
  async function captureSummary(app, id) {
    try {
      const q = await app.getJson('/v1/annotation-queue');
      const found = q.captures.find((c) => c.id === id);
      if (found) return found;
    } catch (err) { /* not fatal: the summary only titles the page */ }
    try {
      return await app.getJson(`/v1/captures/${id}`);
    } catch (err) {
      return {id};
    }
  }

  function describe(c) {
    return [c.site, c.condition, c.visit, c.captured_at ? c.captured_at.slice(0, 10) : null]
        .filter(Boolean).join(' · ');
  }

  function stateText(v) {
    if (!v) return 'Not started: nothing saved yet.';
    return `Version ${v.version}, ${v.state}` + (v.decision ? ` (${v.decision})` : '') +
        (v.state === 'reviewed' && v.note ? `: "${v.note}"` : '') + `, ${v.created_at}`;
  }

  async function renderQueue(app) {
    const {h} = app;
    app.leave();
    app.main.replaceChildren(h('h1', {}, 'Annotation queue'), h('p', {class: 'muted'}, 'Loading…'));
    let data;
    try {
      data = await app.getJson('/v1/annotation-queue');
    } catch (err) {
      return app.fail(err);
    }
    const reviewId = h('input', {id: 'review-capture-id', type: 'number', min: 1, size: 8,
                                 'aria-label': 'capture id'});
    const reviewForm = h('form', {class: 'card', id: 'review-open'},
        h('h3', {}, 'Review a capture (clinicians and admins)'),
        h('label', {for: 'review-capture-id'}, 'Capture id '), reviewId, ' ',
        h('button', {type: 'submit'}, 'Open review'));
    reviewForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (reviewId.value) app.go(`#/review/${Number(reviewId.value)}`);
    });
    app.main.replaceChildren(h('h1', {}, 'Annotation queue'),
        h('p', {class: 'muted'}, 'Captures assigned to you that you have not submitted yet ',
          '(or that a reviewer rejected), oldest first.'),
        data.captures.length
            ? h('table', {class: 'grid', id: 'annotation-queue'},
                h('thead', {}, h('tr', {}, ['Capture', 'Patient', 'Site', 'Condition', 'Visit',
                                            'Captured', ''].map((t) => h('th', {}, t)))),
                h('tbody', {}, data.captures.map((c) => h('tr', {'data-capture': c.id},
                    h('td', {class: 'num'}, c.id), h('td', {}, c.patient || '—'),
                    h('td', {}, c.site), h('td', {}, c.condition), h('td', {}, c.visit || '—'),
                    h('td', {}, (c.captured_at || '').slice(0, 10)),
                    h('td', {}, h('a', {class: 'annotate-link', href: `#/annotate/${c.id}`}, 'Annotate'))))))
            : h('p', {id: 'queue-empty'}, 'Nothing to annotate.'),
        reviewForm);
  }

  async function renderAnnotate(app, id) {
    const {h} = app;
    app.leave();
    const hash = location.hash;
    app.main.replaceChildren(h('h1', {}, `Annotate capture ${id}`),
                             h('p', {class: 'muted'}, 'Loading the photo…'));
    let bitmap;
    let summary;
    let mine = null;
    try {
      const me = myAuthor(app.state.token);
      const [b, list, s] = await Promise.all([
        loadBitmap(app, id), app.getJson(`/v1/captures/${id}/annotations`), captureSummary(app, id)]);
      bitmap = b;
      summary = s;
      mine = list.annotations.find((a) => a.author === me) || null;
    } catch (err) {
      return app.fail(err);
    }
    if (location.hash !== hash) return;  // the user went elsewhere meanwhile
    const editors = root.skintrackEditor;
    const content = mine ? mine.content : null;
    const editor = editors.createEditor(h, bitmap, bitmap.width, bitmap.height, content,
                                        editors.LESION_CLASS[summary.condition]);
    app.state.leave = () => editor.destroy();
    const labels = editors.createLabelForm(h, content && content.labels,
        {diagnosis: summary.condition, locations: summary.site ? [summary.site] : []});
    const note = h('textarea', {id: 'annotation-note', placeholder: 'note to the reviewer (optional)'});
    const state = h('p', {id: 'annotation-state'});
    const status = h('p', {id: 'annotation-status', role: 'status'});
    const save = h('button', {type: 'button', id: 'save-draft'}, 'Save draft');
    const submit = h('button', {type: 'button', id: 'submit-annotation', class: 'primary'}, 'Submit');
    const reopen = h('button', {type: 'button', id: 'reopen-annotation'}, 'Reopen (back to draft)');
    const history = h('a', {id: 'annotation-history'}, 'Versions');

    function refresh() {
      state.textContent = stateText(mine);
      const editable = !mine || mine.state === 'draft';
      save.disabled = !editable;
      submit.disabled = !editable;
      reopen.hidden = !(mine && mine.state === 'reviewed' && mine.decision === 'rejected');
      history.hidden = !mine;
      if (mine) history.href = `#/annotations/${mine.annotation_id}`;
    }

    async function send(action) {
      const body = {action, expected_version: mine ? mine.version : 0, note: note.value.trim()};
      if (action !== 'reopen') body.content = Object.assign(editor.toDocument(), {labels: labels.get()});
      for (const b of [save, submit, reopen]) b.disabled = true;
      status.className = 'muted';
      status.textContent = action === 'submit' ? 'Submitting…' : 'Saving…';
      try {
        const res = await app.api(`/v1/captures/${id}/annotations/mine`, {
          method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
        mine = await res.json();
        if (action === 'reopen') editor.load(mine.content);
        status.className = 'ok';
        status.textContent = {save: 'Draft saved', submit: 'Submitted for review',
                              reopen: 'Reopened as a draft'}[action] + ` (version ${mine.version}).`;
      } catch (err) {
        if (err.status === 401) return app.fail(err);
        status.className = 'error';
        status.setAttribute('role', 'alert');
        status.textContent = `Not saved: ${err.message} (${err.code})` +
            (err.status === 409 ? '. Reload the page to see the latest version.' : '');
      }
      refresh();
    }
    save.addEventListener('click', () => send('save'));
    submit.addEventListener('click', () => send('submit'));
    reopen.addEventListener('click', () => send('reopen'));
    refresh();

    app.main.replaceChildren(
        h('h1', {}, `Annotate capture ${id} `, h('span', {class: 'muted'}, describe(summary))),
        h('p', {}, h('a', {href: '#/annotate'}, '← queue')), state,
        h('div', {class: 'annotate-grid'},
          h('section', {class: 'card', id: 'annotation-editor'}, editor.el),
          h('div', {}, labels.el,
            h('div', {class: 'card'}, note, h('div', {class: 'row'}, save, ' ', submit, ' ', reopen),
              status, h('p', {class: 'small'}, history)))));
    editor.view.fit();
  }

  views.push({pattern: /^#\/annotate$/, render: (m, app) => renderQueue(app)});
  views.push({pattern: /^#\/annotate\/(\d+)$/, render: (m, app) => renderAnnotate(app, Number(m[1]))});
  root.skintrackAnnotate = {myAuthor, loadBitmap, describe};
})(globalThis);
