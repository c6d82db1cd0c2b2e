// skintrack dashboard. Hand-written, no framework and no third-party code: the page calls the /v1
// API of the server that serves it, with the bearer token the user pastes (kept in
// sessionStorage, so it goes when the tab closes). Images come through fetch() with the token and
// are shown from blob: URLs, so no credential ever lands in a URL or a cookie.
'use strict';

(function () {
  const TOKEN_KEY = 'skintrack.token';
  const IMAGE_SIDE = 1024;  // ?max_side for the viewer's PNGs
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    patient: null,  // {id, response, series}
    flash: '',      // message shown once in the capture panel
    blobUrls: [],
    viewer: {mode: 'side', overlay: false, change: false, blend: 50},
  };
  const main = document.getElementById('main');
  const logout = document.getElementById('logout');

  // --- DOM helpers ------------------------------------------------------------------------------

  const SVG_TAGS = new Set(['svg', 'g', 'line', 'circle', 'path', 'text', 'rect', 'title']);

  // h('tag', {attr: value, onclick: fn, text: 'content'}, ...children)
  function h(tag, attrs, ...children) {
    const svg = SVG_TAGS.has(tag) && (tag !== 'title' || (attrs && attrs.svg));
    const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                   : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false || key === 'svg') continue;
      if (key.startsWith('on')) {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'text') {
        el.textContent = value;
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return '—';
    if (typeof value !== 'number') return String(value);
    const d = digits === undefined ? (Math.abs(value) >= 100 ? 1 : 2) : digits;
    return value.toFixed(d);
  }
  const day = (rfc3339) => (rfc3339 || '').slice(0, 10);
  const enc = encodeURIComponent;
  const ROMAN = ['', 'I', 'II', 'III', 'IV', 'V', 'VI'];

  function provTag(source) {
    const s = source || 'measured';
    return h('span', {class: 'prov ' + s, title: 'provenance'}, s);
  }

  // --- API --------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign({Authorization: 'Bearer ' + state.token}, opts.headers || {});
    const res = await fetch(path, opts);
    if (!res.ok) {
      let code = 'http_' + res.status;
      let message = 'HTTP ' + res.status;
      try {
        const body = await res.json();
        if (body && body.error) {
          code = body.error.code;
          message = body.error.message;
        }
      } catch (e) { /* not JSON: keep the status line */ }
      throw new ApiError(res.status, code, message);
    }
    return res;
  }
  const getJson = async (path) => (await api(path)).json();

  async function imageUrl(path) {
    const blob = await (await api(path)).blob();
    const url = URL.createObjectURL(blob);
    state.blobUrls.push(url);
    return url;
  }
  function releaseImages() {
    state.blobUrls.forEach((u) => URL.revokeObjectURL(u));
    state.blobUrls = [];
  }

  // Shows an API failure where `where` is; an expired or revoked token goes back to sign-in.
  function fail(err, where) {
    if (err instanceof ApiError && err.status === 401) {
      signOut('The server refused the token: ' + err.message);
      return;
    }
    const text = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
    (where || main).replaceChildren(h('p', {class: 'error', role: 'alert'}, text));
  }

  function signOut(message) {
    state.token = '';
    state.patient = null;
    sessionStorage.removeItem(TOKEN_KEY);
    renderLogin(message);
  }

  function go(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // --- views ------------------------------------------------------------------------------------

  // The annotation and review views live in their own files (annotate.js, review.js), loaded
  // before this one; they register {pattern, render(match, app)} in globalThis.skintrackViews.
  const app = {h, api, getJson, imageUrl, ApiError, fail, go, fmt, provTag, main, state,
               leave() {
                 if (state.leave) state.leave();
                 state.leave = null;
               }};

  function route() {
    logout.hidden = !state.token;
    app.leave();
    if (!state.token) return renderLogin();
    for (const view of globalThis.skintrackViews || []) {
      const vm = (location.hash || '#/').match(view.pattern);
      if (vm) {
        releaseImages();
        return view.render(vm, app);
      }
    }
    const m = (location.hash || '#/').match(/^#\/patients\/([^/]+)(?:\/captures\/(\d+))?$/);
    if (m) return renderPatient(decodeURIComponent(m[1]), m[2] ? Number(m[2]) : null);
    state.patient = null;
    releaseImages();
    return renderPatientList();
  }

  function renderLogin(message) {
    logout.hidden = true;
    releaseImages();
    const input = h('input', {id: 'token', type: 'password', autocomplete: 'off', required: true,
                              placeholder: 'bearer token'});
    const error = h('p', {id: 'login-error', class: 'error', role: 'alert'}, message || '');
    const form = h('form', {id: 'login', class: 'card login'},
        h('h1', {}, 'Sign in'),
        h('p', {class: 'muted'}, 'Paste an API token (clinician, coordinator, admin or annotator). ',
          h('code', {}, 'skintrack token create --data-dir DIR --role clinician'), ' prints one.'),
        h('label', {for: 'token'}, 'Token'), input,
        h('button', {type: 'submit', id: 'login-submit'}, 'Sign in'), error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      state.token = input.value.trim();
      try {
        await getJson('/v1/patients');
        sessionStorage.setItem(TOKEN_KEY, state.token);
        go('#/');
      } catch (err) {
        // Annotators read no patients: their home is the annotation queue.
        if (err.status === 403 && await annotationQueueReadable()) {
          sessionStorage.setItem(TOKEN_KEY, state.token);
          return go('#/annotate');
        }
        state.token = '';
        error.textContent = err.status === 403
            ? 'This token may not read patients (device tokens only push captures).'
            : 'Sign-in failed: ' + err.message;
      }
    });
    main.replaceChildren(form);
    input.focus();
  }

  async function annotationQueueReadable() {
    try {
      await getJson('/v1/annotation-queue');
      return true;
    } catch (err) {
      return false;
    }
  }

  async function renderPatientList() {
    main.replaceChildren(h('h1', {}, 'Patients'), h('p', {class: 'muted'}, 'Loading…'));
    try {
      const data = await getJson('/v1/patients');
      const rows = data.patients.map((p) => h('tr', {'data-patient': p.id},
          h('td', {}, h('a', {href: '#/patients/' + enc(p.id), class: 'patient-link'}, p.id)),
          h('td', {}, p.fitzpatrick ? ROMAN[p.fitzpatrick] : '—'),
          h('td', {}, p.age_band || '—'),
          h('td', {}, p.sites.map((s) => h('span', {class: 'chip ' + s.condition},
                                           `${s.site} · ${s.condition}`)))));
      main.replaceChildren(h('h1', {}, 'Patients'),
          data.patients.length
              ? h('table', {id: 'patients', class: 'grid'},
                  h('thead', {}, h('tr', {}, ['Patient', 'Fitzpatrick', 'Age band', 'Sites']
                                                .map((t) => h('th', {}, t)))),
                  h('tbody', {}, rows))
              : h('p', {}, 'No patients yet. Devices push captures to ',
                  h('code', {}, 'POST /v1/patients/{patient}/sites/{site}/captures'), '.'));
    } catch (err) {
      if (err.status === 403) return go('#/annotate');  // an annotator token
      fail(err);
    }
  }

  async function renderPatient(id, captureId) {
    if (state.patient && state.patient.id === id && document.getElementById('patient-view')) {
      return selectCapture(captureId);
    }
    releaseImages();
    main.replaceChildren(h('p', {class: 'muted'}, `Loading ${id}…`));
    try {
      const [response, series] = await Promise.all([
        getJson(`/v1/patients/${enc(id)}/response`),
        getJson(`/v1/patients/${enc(id)}/timeseries`),
      ]);
      state.patient = {id, response, series};
    } catch (err) {
      return fail(err);
    }
    const view = h('div', {id: 'patient-view'},
        h('p', {}, h('a', {href: '#/'}, '← all patients')),
        h('h1', {}, 'Patient ', h('span', {id: 'patient-id'}, state.patient.response.patient)));
    for (const c of state.patient.response.conditions) view.append(conditionSection(c));
    view.append(sitesSection(state.patient.series));
    view.append(h('section', {id: 'capture-panel'}));
    main.replaceChildren(view);
    return selectCapture(captureId);
  }

  // --- charts -----------------------------------------------------------------------------------

  // The smallest "round" axis maximum >= v, and a division count that gives round ticks.
  function niceScale(v) {
    const steps = [[1, 5], [1.5, 3], [2, 4], [2.5, 5], [3, 3], [4, 4], [5, 5], [6, 3], [8, 4],
                   [10, 5]];
    if (!(v > 0)) return {max: 1, divisions: 5};
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const [m, divisions] of steps) if (m * p >= v) return {max: m * p, divisions};
    return {max: 10 * p, divisions: 5};
  }

  // A line chart over visits: one <circle class="point"> per visit and series with a value;
  // thresholds are dashed horizontal lines (e.g. PASI75 = 25 % of the baseline score).
  function lineChart({id, title, unit, labels, series, thresholds}) {
    const W = 560, H = 250, L = 50, R = 40, T = 30, B = 46;
    const values = series.flatMap((s) => s.values.filter((v) => typeof v === 'number'));
    const lines = (thresholds || []).filter((t) => typeof t.y === 'number' && t.y > 0);
    const scale = niceScale(Math.max(0, ...values, ...lines.map((t) => t.y)) * 1.05);
    const ymax = scale.max;
    const x = (i) => labels.length === 1 ? (L + W - R) / 2
                                         : L + (i * (W - L - R)) / (labels.length - 1);
    const y = (v) => T + (H - T - B) * (1 - v / ymax);
    const svg = h('svg', {id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
                          'aria-label': title});
    svg.append(h('text', {x: L, y: 18, class: 'chart-title'}, title + (unit ? ` (${unit})` : '')));
    for (let k = 0; k <= scale.divisions; ++k) {
      const v = (ymax * k) / scale.divisions;
      svg.append(h('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid'}),
                 h('text', {x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end'},
                   fmt(v, ymax < 2 ? 2 : 1)));
    }
    labels.forEach((label, i) => {
      svg.append(h('text', {x: x(i), y: H - B + 16, class: 'tick', 'text-anchor': 'middle'},
                   label.label),
                 h('text', {x: x(i), y: H - B + 30, class: 'tick sub', 'text-anchor': 'middle'},
                   label.date));
    });
    for (const t of lines) {
      svg.append(h('line', {x1: L, x2: W - R, y1: y(t.y), y2: y(t.y), class: 'threshold ' + t.cls}),
                 h('text', {x: L + 6, y: y(t.y) - 4, 'text-anchor': 'start',
                            class: 'threshold-label ' + t.cls}, `${t.label} ${fmt(t.y)}`));
    }
    series.forEach((s, si) => {
      let d = '';
      let previous = false;
      s.values.forEach((v, i) => {
        if (typeof v !== 'number') { previous = false; return; }
        d += `${previous ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
        previous = true;
      });
      svg.append(h('path', {d, class: `series s${si}`}));
      s.values.forEach((v, i) => {
        if (typeof v !== 'number') return;
        svg.append(h('circle', {cx: x(i), cy: y(v), r: 4.5, class: `point s${si}`,
                                'data-visit': labels[i].label, 'data-value': v},
                     h('title', {svg: true}, `${s.name}, ${labels[i].label}: ${fmt(v)}`)));
      });
      if (series.length > 1) {
        svg.append(h('line', {x1: L + 8 + si * 130, x2: L + 26 + si * 130, y1: T - 4, y2: T - 4,
                              class: `series s${si}`}),
                   h('text', {x: L + 30 + si * 130, y: T, class: 'legend'}, s.name));
      }
    });
    return svg;
  }

  function badges(response, keys) {
    if (!response || !response.defined) return h('span', {class: 'muted'}, response ? response.note : '');
    return keys.map((k) => h('span', {class: 'badge ' + (response[k] ? 'yes' : 'no'),
                                      'data-badge': k}, k.toUpperCase()));
  }

  function conditionSection(c) {
    const visits = c.visits;
    const labels = visits.map((v) => ({label: v.visit, date: day(v.date)}));
    const section = h('section', {class: 'condition', 'data-condition': c.condition},
        h('h2', {}, c.condition === 'psoriasis' ? 'Psoriasis' : 'Vitiligo'));
    const charts = h('div', {class: 'charts'});
    const base = visits.length ? visits[0] : null;
    const table = h('table', {class: 'grid visits', id: `visits-${c.condition}`});
    if (c.condition === 'psoriasis') {
      const b = base && typeof base.pasi === 'number' ? base.pasi : null;
      charts.append(
          lineChart({id: 'chart-pasi', title: 'PASI', labels,
                     series: [{name: 'PASI', values: visits.map((v) => v.pasi)}],
                     thresholds: b ? [{y: 0.25 * b, label: 'PASI75', cls: 't75'},
                                      {y: 0.1 * b, label: 'PASI90', cls: 't90'}] : []}),
          lineChart({id: 'chart-bsa', title: 'Body surface area', unit: '%', labels,
                     series: [{name: 'BSA', values: visits.map((v) => v.bsa_percent)}]}));
      table.append(h('thead', {}, h('tr', {}, ['Visit', 'Date', 'PASI', 'BSA %', 'Change %',
                                               'Response', 'Notes'].map((t) => h('th', {}, t)))));
      table.append(h('tbody', {}, visits.map((v, i) => h('tr', {'data-visit': v.visit},
          h('td', {}, v.visit), h('td', {}, day(v.date)),
          h('td', {class: 'num'}, fmt(v.pasi, 1)), h('td', {class: 'num'}, fmt(v.bsa_percent)),
          h('td', {class: 'num'}, v.response ? fmt(v.response.change_percent, 1) : '—'),
          h('td', {}, i === 0 ? h('span', {class: 'badge base'}, 'baseline')
                              : badges(v.response, ['pasi50', 'pasi75', 'pasi90', 'pasi100'])),
          h('td', {class: 'muted'}, visitNotes(v))))));
    } else {
      const b = base && typeof base.t_vasi === 'number' ? base.t_vasi : null;
      const hasFace = visits.some((v) => typeof v.f_vasi === 'number');
      const vasiSeries = [{name: 'T-VASI', values: visits.map((v) => v.t_vasi)}];
      if (hasFace) vasiSeries.push({name: 'F-VASI', values: visits.map((v) => v.f_vasi)});
      const sites = [...new Set(visits.flatMap((v) => Object.keys(v.repigmentation || {})))];
      charts.append(
          lineChart({id: 'chart-vasi', title: 'VASI', labels, series: vasiSeries,
                     thresholds: b ? [{y: 0.5 * b, label: 'T-VASI50', cls: 't50'},
                                      {y: 0.25 * b, label: 'T-VASI75', cls: 't75'}] : []}),
          lineChart({id: 'chart-repigmentation', title: 'Repigmentation against baseline',
                     unit: '%', labels,
                     series: sites.map((s) => ({name: s, values: visits.map((v) => {
                       const r = (v.repigmentation || {})[s];
                       return r && r.defined ? r.percent : null;
                     })}))}));
      table.append(h('thead', {}, h('tr', {}, ['Visit', 'Date', 'T-VASI', 'F-VASI', 'Change %',
                                               'Response', 'Repigmentation', 'Notes']
                                                  .map((t) => h('th', {}, t)))));
      table.append(h('tbody', {}, visits.map((v, i) => h('tr', {'data-visit': v.visit},
          h('td', {}, v.visit), h('td', {}, day(v.date)),
          h('td', {class: 'num'}, fmt(v.t_vasi)), h('td', {class: 'num'}, fmt(v.f_vasi)),
          h('td', {class: 'num'}, v.response ? fmt(v.response.change_percent, 1) : '—'),
          h('td', {}, i === 0 ? h('span', {class: 'badge base'}, 'baseline')
                              : badges(v.response, ['vasi50', 'vasi75', 'vasi90'])),
          h('td', {}, Object.entries(v.repigmentation || {}).map(([s, r]) =>
              h('div', {}, `${s}: `, r.defined ? `${fmt(r.percent, 0)} % (${r.grade})` : '—'))),
          h('td', {class: 'muted'}, visitNotes(v))))));
    }
    section.append(charts, table,
        h('p', {class: 'muted'}, `Thresholds are drawn against the baseline visit (${c.baseline_visit || '—'}). `,
          `Scores: ${c.algorithm_version}.`));
    return section;
  }

  function visitNotes(v) {
    const notes = [];
    if (v.pending_sites) notes.push('pending: ' + v.pending_sites.join(', '));
    const pasi = v.score && v.score.pasi;
    if (pasi && pasi.missing_regions && pasi.missing_regions.length) {
      notes.push('not imaged: ' + pasi.missing_regions.join(', '));
    }
    if (pasi && pasi.any_imputed) notes.push('induration imputed');
    return notes.join('; ');
  }

  // --- sites and captures -----------------------------------------------------------------------

  function sitesSection(series) {
    const groups = new Map();
    for (const p of series.points) {
      const key = `${p.site}|${p.condition}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(p);
    }
    const section = h('section', {id: 'sites'}, h('h2', {}, 'Sites and visits'));
    for (const [key, points] of groups) {
      const [site, condition] = key.split('|');
      // The site's own lesion area over its captures, with the 75 % / 90 % reduction lines.
      const area = points.map((p) => p.results && p.results.measurements &&
                                      typeof p.results.measurements.value === 'number'
                                          ? 100 * p.results.measurements.value : null);
      const first = area.find((a) => typeof a === 'number');
      section.append(h('h3', {}, `${site} `, h('span', {class: 'chip ' + condition}, condition)),
          h('div', {class: 'site-strip', 'data-site': site}, points.map((p) => {
            const reg = p.results && p.results.to_baseline;
            const label = p.status !== 'processed' ? p.status
                : reg && reg.value !== null ? `quality ${fmt(reg.value)}` : 'not aligned';
            return h('a', {class: `capture-chip ${p.status}`, 'data-capture': p.id,
                           href: `#/patients/${enc(state.patient.id)}/captures/${p.id}`},
                     p.visit || day(p.captured_at), h('span', {class: 'state'}, label));
          })),
          h('div', {class: 'site-chart'}, lineChart({
            id: `chart-site-${site}-${condition}`,
            title: `${site}: lesion area of the imaged skin`, unit: '%',
            labels: points.map((p) => ({label: p.visit || day(p.captured_at), date: day(p.captured_at)})),
            series: [{name: 'lesion area', values: area}],
            thresholds: first ? [{y: 0.25 * first, label: '−75 %', cls: 't75'},
                                 {y: 0.1 * first, label: '−90 %', cls: 't90'}] : []})));
    }
    return section;
  }

  function defaultCapture() {
    const points = state.patient.series.points.filter((p) => p.status === 'processed');
    return points.length ? points[points.length - 1].id : null;
  }

  async function selectCapture(captureId) {
    releaseImages();
    const id = captureId || defaultCapture();
    const panel = document.getElementById('capture-panel');
    document.querySelectorAll('.capture-chip').forEach((el) =>
        el.classList.toggle('selected', Number(el.dataset.capture) === id));
    if (!id) {
      panel.replaceChildren(h('p', {class: 'muted'}, 'No processed capture yet.'));
      return;
    }
    panel.replaceChildren(h('p', {class: 'muted'}, `Loading capture ${id}…`));
    let capture;
    try {
      capture = await getJson(`/v1/captures/${id}`);
    } catch (err) {
      return fail(err, panel);
    }
    const flash = state.flash;
    state.flash = '';
    panel.replaceChildren(...[
      h('h2', {}, `${capture.site} · ${capture.visit || day(capture.captured_at)}`,
        h('span', {class: 'muted'},
          `  capture ${capture.id}, ${day(capture.captured_at)}, ${capture.status}`)),
      h('p', {class: 'small'}, h('a', {href: `#/review/${capture.id}`, id: 'open-review'},
                                 'Annotations and review'), ' · ',
        h('a', {href: `#/annotate/${capture.id}`, id: 'open-annotate'}, 'Annotate')),
      flash ? h('p', {class: 'notice', id: 'flash', role: 'status'}, flash) : null,
      viewer(capture),
      h('div', {class: 'panel-grid'}, scoreDetail(capture), registrationDetail(capture)),
      segmentationDetail(capture),
      resultsTable(capture),
      h('div', {class: 'panel-grid'}, gradeForm(capture), assessmentHistory(capture)),
    ].filter(Boolean));
  }

  // --- image viewer -----------------------------------------------------------------------------

  function viewer(capture) {
    const results = capture.results || {};
    const reg = results.to_baseline ? results.to_baseline.payload : null;
    const aligned = reg && reg.converged;
    const isBaseline = reg && reg.is_baseline;
    const baseId = reg ? reg.baseline_capture_id : null;
    const v = state.viewer;
    const box = h('section', {class: 'card', id: 'viewer'}, h('h3', {}, 'Images'));
    if (capture.status !== 'processed') {
      box.append(h('p', {class: 'notice'}, `Not processed (${capture.status})`,
                   capture.last_error ? `: ${capture.last_error}` : ''));
      return box;
    }
    if (!aligned) {
      box.append(h('p', {class: 'notice bad', id: 'not-aligned'},
          'This capture is not aligned to its baseline',
          reg && reg.stop_reason ? `: ${reg.stop_reason}` : '',
          '. Its own photo is shown; area change and the change map are not computed.'));
    }
    const controls = h('div', {class: 'viewer-controls'});
    const radio = (value, label) => h('label', {},
        h('input', {type: 'radio', name: 'view-mode', value, id: `mode-${value}`,
                    checked: v.mode === value, disabled: !aligned || isBaseline}), ' ', label);
    const overlayBox = h('input', {type: 'checkbox', id: 'toggle-overlay', checked: v.overlay});
    const changeBox = h('input', {type: 'checkbox', id: 'toggle-change', checked: v.change,
                                  disabled: !aligned || isBaseline});
    const slider = h('input', {type: 'range', id: 'blend', min: 0, max: 100, value: v.blend,
                               'aria-label': 'blend between baseline and visit'});
    controls.append(radio('side', 'Side by side'), radio('blend', 'Blend'),
        h('label', {}, overlayBox, ' Lesion overlay'), h('label', {}, changeBox, ' Change map'),
        slider);
    const legend = h('p', {class: 'legend-row', id: 'change-legend'},
        h('span', {}, h('i', {class: 'swatch new'}), 'new'),
        h('span', {}, h('i', {class: 'swatch persisting'}), 'persisting'),
        h('span', {}, h('i', {class: 'swatch cleared'}),
          capture.condition === 'vitiligo' ? 'repigmented' : 'cleared'));
    const baseImg = h('img', {id: 'img-baseline', alt: 'baseline'});
    const visitImg = h('img', {id: 'img-visit', alt: 'visit aligned to the baseline'});
    const baseCaption = h('figcaption', {}, '');
    const visitCaption = h('figcaption', {}, '');
    const stage = h('div', {class: 'stage', id: 'stage'});
    const message = h('p', {class: 'error', id: 'viewer-error', role: 'alert'});
    box.append(controls, legend, stage, message);

    async function load(img, path) {
      img.dataset.loaded = 'false';
      img.dataset.src = path;
      try {
        const url = await imageUrl(path);
        if (img.dataset.src !== path) return;  // a newer request replaced this one
        img.onload = () => { img.dataset.loaded = 'true'; };
        img.src = url;
      } catch (err) {
        img.dataset.loaded = 'error';
        if (err instanceof ApiError && err.status === 403) {
          stage.replaceChildren();
          controls.hidden = true;
          legend.hidden = true;
          message.className = 'muted';
          message.textContent = 'Images are shown to clinicians and admins only; this token ' +
              'may read the numbers below.';
        } else if (err instanceof ApiError && err.status === 401) {
          fail(err);
        } else {
          message.textContent = `Image failed: ${err.message}`;
        }
      }
    }

    function render() {
      const side = `max_side=${IMAGE_SIDE}`;
      const blend = aligned && !isBaseline && v.mode === 'blend';
      legend.hidden = !(v.change && aligned && !isBaseline);
      slider.hidden = !blend;
      message.textContent = '';
      if (!aligned) {
        baseCaption.textContent = 'Capture (own frame)';
        load(baseImg, v.overlay ? `/v1/captures/${capture.id}/overlay.png?${side}`
                                : `/v1/captures/${capture.id}/image`);
        stage.className = 'stage single';
        stage.replaceChildren(h('figure', {}, baseCaption, baseImg));
        return;
      }
      baseCaption.textContent = isBaseline ? 'Baseline (this capture)'
                                           : `Baseline (capture ${baseId})`;
      load(baseImg, v.overlay ? `/v1/captures/${baseId}/overlay.png?${side}`
                              : `/v1/captures/${baseId}/aligned.png?${side}`);
      if (isBaseline) {
        stage.className = 'stage single';
        stage.replaceChildren(h('figure', {}, baseCaption, baseImg));
        return;
      }
      if (v.change) {
        visitCaption.textContent = 'Change against the baseline (drawn on the baseline)';
        load(visitImg, `/v1/captures/${capture.id}/change.png?${side}`);
      } else {
        visitCaption.textContent = `${capture.visit || 'visit'} aligned to the baseline` +
            (v.overlay ? ', lesion outline' : '');
        load(visitImg, `/v1/captures/${capture.id}/aligned.png?${side}&overlay=${v.overlay}`);
      }
      if (blend) {
        stage.className = 'stage blend';
        visitImg.className = 'top';
        visitImg.style.opacity = String(v.blend / 100);
        stage.replaceChildren(h('figure', {},
            h('figcaption', {}, 'Blend: baseline ↔ visit (slider)'),
            h('div', {class: 'stack'}, baseImg, visitImg)));
      } else {
        stage.className = 'stage side';
        visitImg.className = '';
        visitImg.style.opacity = '1';
        stage.replaceChildren(h('figure', {}, baseCaption, baseImg),
                              h('figure', {}, visitCaption, visitImg));
      }
    }

    controls.addEventListener('change', (event) => {
      const t = event.target;
      if (t.name === 'view-mode') v.mode = t.value;
      if (t.id === 'toggle-overlay') v.overlay = t.checked;
      if (t.id === 'toggle-change') v.change = t.checked;
      render();
    });
    slider.addEventListener('input', () => {
      v.blend = Number(slider.value);
      visitImg.style.opacity = String(v.blend / 100);
    });
    render();
    return box;
  }

  // --- numbers and provenance -------------------------------------------------------------------

  function gradeRow(name, g) {
    if (!g) return null;
    return h('tr', {'data-sign': name, title: g.method || ''}, h('td', {}, name),
             h('td', {class: 'num'}, g.grade), h('td', {class: 'num'}, fmt(g.continuous)),
             h('td', {}, provTag(g.provenance)));
  }

  function scoreDetail(capture) {
    const r = capture.results || {};
    const box = h('section', {class: 'card', id: 'score-detail'}, h('h3', {}, 'Score and its parts'));
    const meas = r.measurements ? r.measurements.payload : null;
    if (capture.condition === 'psoriasis' && r.pasi_site) {
      const pasi = r.pasi_site.payload.pasi;
      const region = pasi.regions[0];
      box.append(h('dl', {class: 'kv'},
          h('dt', {}, 'Site PASI contribution'), h('dd', {id: 'site-pasi'}, fmt(region.contribution, 2),
            ` (region ${region.region}, weight ${region.weight})`),
          h('dt', {}, 'Lesion area of the site'), h('dd', {}, `${fmt(region.area_percent)} % → area score ${region.area_score} `,
            provTag(region.area_provenance)),
          h('dt', {}, 'Continuous variant'), h('dd', {}, fmt(region.contribution_continuous, 3))));
      box.append(h('table', {class: 'grid', id: 'signs'},
          h('thead', {}, h('tr', {}, ['Sign', 'Grade', 'Measured', 'Provenance']
                                        .map((t) => h('th', {}, t)))),
          h('tbody', {}, gradeRow('erythema', region.erythema),
            gradeRow('induration', region.induration),
            gradeRow('desquamation', region.desquamation))),
          h('p', {class: 'muted small'}, 'Hover a sign for how it was measured or imputed.'));
    } else if (capture.condition === 'vitiligo' && r.vasi_site) {
      const s = r.vasi_site.payload.sites[0];
      box.append(h('dl', {class: 'kv'},
          h('dt', {}, 'Site VASI'), h('dd', {id: 'site-vasi'}, fmt(s.vasi, 3), ` (continuous ${fmt(s.vasi_continuous, 3)})`),
          h('dt', {}, 'Patch envelope'), h('dd', {}, `${fmt(100 * s.envelope_fraction)} % of the site (${fmt(s.hand_units)} hand units) `,
            provTag(s.provenance)),
          h('dt', {}, 'Depigmentation in the envelope'), h('dd', {}, `${fmt(s.depigmentation_percent, 1)} % → ladder level ${s.level} % `,
            provTag(s.level_provenance))));
    } else {
      box.append(h('p', {class: 'muted'}, 'No score yet.'));
    }
    if (meas) {
      const range = typeof meas.lesion_fraction_low === 'number'
          ? ` (threshold range ${fmt(100 * meas.lesion_fraction_low)}–` +
            `${fmt(100 * meas.lesion_fraction_high)} %)` : '';
      box.append(h('dl', {class: 'kv'},
          h('dt', {}, 'Lesion fraction of this photo\'s skin'), h('dd', {}, `${fmt(100 * (r.measurements.value || 0))} %${range}`),
          siteAreaRows(meas.site_area, capture.condition),
          h('dt', {}, 'Skin tone (ITA)'), h('dd', {}, `${fmt(meas.ita_degrees, 1)}° (${meas.ita_group || '—'})`),
          h('dt', {}, 'Lesions'), h('dd', {}, fmt(meas.lesion_count, 0))));
    }
    return box;
  }

  // The area the scores use: the site's, in the baseline frame (see docs/service.md).
  function siteAreaRows(site, condition) {
    if (!site) return null;
    if (!site.used) {
      return [h('dt', {}, 'Site area'), h('dd', {class: 'muted', id: 'site-area'}, `photo's own (${site.note})`)];
    }
    const value = condition === 'vitiligo' && typeof site.envelope_fraction === 'number'
        ? `patch envelope ${fmt(100 * site.envelope_fraction)} %, lesion ${fmt(100 * site.lesion_fraction)} % of the site`
        : `${fmt(100 * site.lesion_fraction)} % of the site`;
    return [h('dt', {}, 'Site area (scored)'),
            h('dd', {id: 'site-area', title: site.note},
              `${value}; ${fmt(100 * site.unseen_skin_fraction, 0)} % of the baseline's skin outside this photo`)];
  }

  function registrationDetail(capture) {
    const r = capture.results || {};
    const box = h('section', {class: 'card', id: 'registration'}, h('h3', {}, 'Alignment and quality'));
    const q = r.quality ? r.quality.payload : null;
    if (q) {
      box.append(h('p', {}, 'Quality gate: ',
          q.passed ? h('span', {class: 'ok'}, 'passed') : h('span', {class: 'error'}, 'failed'),
          q.reasons && q.reasons.length ? ` (${q.reasons.join('; ')})` : ''));
    }
    const p = r.to_baseline ? r.to_baseline.payload : null;
    if (!p) {
      box.append(h('p', {class: 'muted'}, 'No registration yet.'));
      return box;
    }
    if (p.is_baseline) {
      box.append(h('p', {id: 'registration-state'}, 'This capture is the site\'s baseline.'));
      return box;
    }
    box.append(h('dl', {class: 'kv', id: 'registration-state'},
        h('dt', {}, 'Aligned'), h('dd', {}, p.converged ? h('span', {class: 'ok'}, 'yes') : h('span', {class: 'error'}, 'no')),
        h('dt', {}, 'Baseline capture'), h('dd', {}, p.baseline_capture_id),
        h('dt', {}, 'Quality (independent)'), h('dd', {}, fmt(p.quality, 3)),
        h('dt', {}, 'Overlap'), h('dd', {}, `${fmt(100 * (p.overlap_fraction || 0), 1)} %`),
        h('dt', {}, 'Feature inliers / residual'), h('dd', {}, `${fmt(p.feature_inliers, 0)} / ${fmt(p.feature_residual_px)} px`),
        h('dt', {}, 'Model'), h('dd', {}, `${p.model}${p.refined ? ', refined' : ', feature start only'}`),
        h('dt', {}, 'Stop reason'), h('dd', {class: 'muted'}, p.stop_reason || '—'),
        h('dt', {}, 'Time'), h('dd', {}, `${fmt(p.seconds)} s`)));
    if (r.change) {
      const c = r.change.payload;
      box.append(h('dl', {class: 'kv', id: 'change-numbers'},
          h('dt', {}, 'Area change'), h('dd', {}, `${fmt(c.area_change_percent, 1)} %`),
          h('dt', {}, 'New / persisting / cleared px'), h('dd', {}, `${c.new_pixels} / ${c.persisting_pixels} / ${c.cleared_pixels}`)));
    }
    return box;
  }

  // Which segmenter and model made each mask, and which segmentation the scores were computed
  // from, as stored in the results' provenance: a clinician can tell a learned or patient model's
  // mask from the classical segmenter's, and from their own corrected one.
  function segmentationDetail(capture) {
    const r = capture.results || {};
    const box = h('section', {class: 'card', id: 'segmentation'},
                  h('h3', {}, 'Segmentation and model'));
    const rows = [];
    for (const [name, label] of [['lesion', 'Lesion mask'], ['skin', 'Skin mask']]) {
      const m = r[name];
      if (!m || m.kind !== 'mask') continue;
      rows.push(h('dt', {}, label), h('dd', {'data-mask': name}, maskOrigin(m)));
    }
    const meas = r.measurements;
    if (meas && meas.provenance && meas.provenance.segmenter) {
      rows.push(h('dt', {}, 'Scores computed from'),
                h('dd', {'data-mask': 'scores'}, segmenterOf(meas.provenance)));
    }
    box.append(rows.length ? h('dl', {class: 'kv'}, rows)
                           : h('p', {class: 'muted'}, 'No masks yet.'));
    return box;
  }

  function maskOrigin(mask) {
    const when = `version ${mask.version}, ${day(mask.created_at)}`;
    if (mask.source === 'clinician') {
      return [h('span', {class: 'prov clinician', 'data-origin': 'clinician'}, 'clinician-corrected'),
              ` (${when})`];
    }
    // Older masks name the segmenter in the payload only.
    return [segmenterOf(Object.assign({}, mask.payload || {}, mask.provenance || {})), ` (${when})`];
  }

  // "segmenter: S, model: M" from a provenance object; every value goes in as text.
  function segmenterOf(p) {
    if (p.clinician_mask_result_id !== undefined && p.clinician_mask_result_id !== null) {
      return [h('span', {class: 'prov clinician', 'data-origin': 'clinician'},
                'the clinician-corrected lesion mask'),
              ` (result ${p.clinician_mask_result_id})`];
    }
    const out = [h('span', {class: 'segmenter'}, `segmenter: ${p.segmenter || 'unknown'}`), ', ',
                 h('span', {class: 'model'}, `model: ${p.model_id || 'none'}`)];
    if (p.general_model_id) out.push(`, general model ${p.general_model_id}`);
    if (p.reference) {
      out.push(`; patient reference: baseline capture ${p.reference.capture_id}, ` +
               `mask version ${p.reference.mask_version}`);
    }
    return out;
  }

  function resultsTable(capture) {
    const rows = Object.values(capture.results || {})
        .filter((r) => r.kind !== 'mask')
        .map((r) => h('tr', {'data-name': r.name},
            h('td', {}, r.name), h('td', {class: 'num'}, fmt(r.value, 3)),
            h('td', {}, provTag(r.source)), h('td', {class: 'num version'}, r.version),
            h('td', {class: 'muted'}, `${r.algorithm} ${r.algorithm_version}`),
            h('td', {class: 'muted'}, r.created_at.replace('T', ' ').slice(0, 19))));
    return h('section', {class: 'card', id: 'results'}, h('h3', {}, 'Stored results (latest versions)'),
        h('table', {class: 'grid', id: 'results-table'},
          h('thead', {}, h('tr', {}, ['Result', 'Value', 'Source', 'Version', 'Algorithm', 'Created']
                                        .map((t) => h('th', {}, t)))),
          h('tbody', {}, rows)));
  }

  function assessmentHistory(capture) {
    const list = capture.assessments || [];
    return h('section', {class: 'card', id: 'assessments'}, h('h3', {}, 'Clinician assessments'),
        list.length ? h('table', {class: 'grid', id: 'assessment-table'},
            h('thead', {}, h('tr', {}, ['Version', 'Grades', 'Note', 'When'].map((t) => h('th', {}, t)))),
            h('tbody', {}, list.map((a) => h('tr', {'data-version': a.version},
                h('td', {class: 'num'}, a.version),
                h('td', {}, Object.entries(a.grades || {}).map(([k, val]) => `${k} ${val}`).join(', ') ||
                            (a.mask_sha256 ? 'corrected mask' : '—')),
                h('td', {}, a.note || ''), h('td', {class: 'muted'}, a.created_at.replace('T', ' ').slice(0, 16))))))
            : h('p', {class: 'muted'}, 'None yet.'));
  }

  function gradeForm(capture) {
    const form = h('form', {class: 'card grades', id: 'grade-form'}, h('h3', {}, 'Enter clinician grades'));
    const select = (name, options) => h('div', {class: 'row'},
        h('label', {for: `grade-${name}`}, name),
        h('select', {id: `grade-${name}`, name},
          h('option', {value: ''}, '— not graded'),
          options.map((o) => h('option', {value: o}, String(o)))));
    const fields = capture.condition === 'psoriasis'
        ? ['erythema', 'induration', 'desquamation'].map((n) => select(n, [0, 1, 2, 3, 4]))
        : [select('depigmentation_level', [0, 10, 25, 50, 75, 90, 100])];
    const note = h('textarea', {id: 'grade-note', name: 'note', placeholder: 'note (optional)'});
    const status = h('p', {id: 'grade-status', role: 'status'});
    const submit = h('button', {type: 'submit', id: 'grade-submit'}, 'Save grades');
    form.append(h('p', {class: 'muted'},
        'Grades you enter replace the measured or imputed ones for this capture; the scores are ',
        'recomputed as a new version and the earlier versions stay in the history.'),
        ...fields, h('div', {class: 'row'}, note), submit, status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {};
      for (const s of form.querySelectorAll('select')) if (s.value !== '') body[s.name] = Number(s.value);
      if (note.value.trim()) body.note = note.value.trim();
      if (Object.keys(body).filter((k) => k !== 'note').length === 0) {
        status.className = 'error';
        status.textContent = 'Choose at least one grade.';
        return;
      }
      submit.disabled = true;
      status.className = 'muted';
      status.textContent = 'Saving…';
      try {
        const res = await api(`/v1/captures/${capture.id}/assessment`, {
          method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
        const saved = await res.json();
        const last = saved.assessments[saved.assessments.length - 1];
        const score = saved.results.pasi_site || saved.results.vasi_site;
        state.flash = `Saved as assessment version ${last.version}` +
            (score ? `; ${score.name} recomputed as version ${score.version}.` : '.');
        const patientId = state.patient.id;
        state.patient = null;  // the response summary changed: reload it
        renderPatient(patientId, capture.id);
      } catch (err) {
        submit.disabled = false;
        if (err.status === 401) return fail(err);
        status.className = 'error';
        status.textContent = err.status === 403 ? 'Only clinicians and admins may grade.'
                                                : `Not saved: ${err.message}`;
      }
    });
    return form;
  }

  logout.addEventListener('click', () => {
    signOut('Signed out.');
    history.replaceState(null, '', '#/');
  });
  window.addEventListener('hashchange', route);
  route();
})();
