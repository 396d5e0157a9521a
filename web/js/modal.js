// Modals from apps (views.open / push / update arrive as view_* events to
// this person): Block Kit in a <dialog>, buttons inside call blocks.action
// with the view_id, Submit calls views.submit with the form's state, and
// the app's errors show next to their inputs. App Home views are ignored
// here (no App Home page yet).
import { api } from './api.js';
// This module is loaded on the first view, so it takes blockkit.js itself.
import { renderBlocks as bkBlocks, readViewState } from './blockkit.js';
import { ctx } from './render.js';
import { h, toast } from './util.js';

const stack = [];  // open views, top last: {view, dlg}

const plain = (t) => (t && t.text) || '';

function build(view) {
  const err = h('p.error', { role: 'alert' });
  const form = h('form.view-form', { novalidate: true, dataset: { viewId: view.id } }, h('div.blocks', { html: bkBlocks(view.blocks || [], ctx) }), err);
  const submit = view.submit ? h('button.primary', { type: 'submit' }, plain(view.submit)) : null;
  const dlg = h('dialog.dlg.view', { 'aria-labelledby': `vt-${view.id}` },
    h('header.dlg-head', {}, h('h2', { id: `vt-${view.id}` }, plain(view.title)), h('button.close', { type: 'button', 'aria-label': 'Close', dataset: { close: '1' } }, '✕')),
    form, h('div.dlg-buttons', {}, h('button', { type: 'button', dataset: { close: '1' } }, plain(view.close) || 'Cancel'), submit));
  if (submit) submit.setAttribute('form', '');
  const doSubmit = async () => {
    err.textContent = '';
    for (const e of form.querySelectorAll('.field-error')) e.remove();
    try {
      const r = await api('views.submit', { view_id: view.id, values: readViewState(form) });
      if (r.response_action === 'errors') {
        for (const [blockId, msg] of Object.entries(r.errors || {})) {
          const at = form.querySelector(`[data-block-id="${CSS.escape(blockId)}"]`);
          const note = h('p.field-error', { role: 'alert' }, msg);
          if (at) (at.closest('.bk-input, label, .bk-block') || at).after(note); else err.append(note);
        }
      } else if (!r.response_action || r.response_action === 'close' || r.response_action === 'clear') {
        if (r.response_action === 'clear') closeAll(); else closeView(view.id);
      }
    } catch (e) { err.textContent = `Could not submit: ${e.error}`; }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); doSubmit(); });
  submit?.addEventListener('click', (ev) => { ev.preventDefault(); doSubmit(); });
  dlg.addEventListener('click', async (ev) => {
    if (ev.target.closest('[data-close]')) {
      api('views.close', { view_id: view.id }).catch(() => {});
      closeView(view.id);
      return;
    }
    const b = ev.target.closest('.blocks [data-action-id]');
    if (b && b.tagName === 'BUTTON') {
      ev.preventDefault();
      try { await api('blocks.action', { view_id: view.id, action_id: b.dataset.actionId, block_id: b.dataset.blockId, value: b.dataset.value, state: { values: readViewState(form) } }); } catch (e) { toast(`The app did not answer: ${e.error}`); }
    }
  });
  dlg.addEventListener('cancel', (ev) => { ev.preventDefault(); api('views.close', { view_id: view.id }).catch(() => {}); closeView(view.id); });
  return dlg;
}

function show(view, replaceId) {
  const i = stack.findIndex((x) => x.view.id === (replaceId || view.id));
  const dlg = build(view);
  if (i >= 0) { stack[i].dlg.replaceWith(dlg); stack[i] = { view, dlg }; if (!dlg.open) dlg.showModal(); return; }
  for (const x of stack) x.dlg.close();
  document.body.append(dlg);
  stack.push({ view, dlg });
  dlg.showModal();
}

function closeView(id) {
  const i = stack.findIndex((x) => x.view.id === id);
  if (i < 0) return;
  const [x] = stack.splice(i, 1);
  x.dlg.close();
  x.dlg.remove();
  const top = stack[stack.length - 1];
  if (top && !top.dlg.open) top.dlg.showModal();
}

function closeAll() { while (stack.length) closeView(stack[stack.length - 1].view.id); }

// A view_* event for this person (app.js loads this module on the first).
export function handleView(e) {
  if (e.type === 'view_opened' || e.type === 'view_pushed') { if (e.view?.type === 'modal') show(e.view); }
  else if (e.type === 'view_updated') { if (stack.some((x) => x.view.id === e.view?.id)) show(e.view, e.view.id); }
  else if (e.type === 'view_closed') { if (e.is_cleared) closeAll(); else closeView(e.view_id); }
}
