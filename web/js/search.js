// The search page: a query box with Slack's modifiers (in:#channel,
// from:@person, before:/after:/on: dates, has:link, "phrases"), results
// with their context, and a jump to each message (search.messages).
import { api } from './api.js';
import { S, userName, avatar } from './state.js';
import { renderText } from './render.js';
import { h, fmtTime, fmtDay } from './util.js';

export function createSearchView({ jump, back }) {
  const input = h('input', { type: 'search', name: 'query', 'aria-label': 'Search messages', placeholder: 'Search messages — try in:#general from:@alice "exact words"' });
  const status = h('p.search-status', { role: 'status' });
  const results = h('ol.search-results', { 'aria-label': 'Results' });
  const more = h('button', { type: 'button', hidden: true }, 'More results');
  const sort = h('select', { 'aria-label': 'Sort results' }, h('option', { value: 'timestamp' }, 'Newest first'), h('option', { value: 'score' }, 'Most relevant'));
  const form = h('form.search-form', { role: 'search' }, input, sort, h('button.primary', { type: 'submit' }, 'Search'));
  const el = h('main.search-page', { id: 'search', 'aria-labelledby': 'search-h', hidden: true },
    h('header.ch-header', {}, h('button.back', { type: 'button', 'aria-label': 'Back', onclick: back }, '‹'), h('h1', { id: 'search-h' }, 'Search')),
    form, status, results, more);
  let page = 1;

  function item(m) {
    const ch = m.channel || {};
    const ctx = (x) => (x && x.text ? h('div.search-ctx', { html: renderText(x.text) }) : null);
    return h('li', {}, h('article.search-hit', {},
      h('div.meta', {}, h('strong', {}, ch.is_im ? 'Direct message' : `#${ch.name || ch.id}`), ' · ', h('span', {}, fmtDay(m.ts)), ' ', h('span', {}, fmtTime(m.ts))),
      ctx(m.previous),
      h('div.search-main', {}, h('img.avatar', { src: avatar(m.user), alt: '', width: 28, height: 28 }),
        h('div', {}, h('span.author', {}, userName(m.user) || m.username || m.user), h('div.text', { html: renderText(m.text) }))),
      ctx(m.next),
      h('button', { type: 'button', onclick: () => jump(ch.id, m.ts, m.thread_ts) }, 'Jump to message')));
  }

  async function run(reset) {
    const q = input.value.trim();
    if (!q) return;
    if (reset) { page = 1; results.replaceChildren(); }
    status.textContent = 'Searching…';
    try {
      const r = await api('search.messages', { query: q, count: 20, page, sort: sort.value, sort_dir: 'desc', highlight: false });
      const mm = r.messages || { matches: [], total: 0 };
      results.append(...(mm.matches || []).map(item));
      const total = mm.total ?? mm.paging?.total ?? 0;
      status.textContent = total ? `${total} result${total === 1 ? '' : 's'} for “${q}”` : `No results for “${q}”.`;
      const pages = mm.paging?.pages ?? mm.pagination?.page_count ?? 1;
      more.hidden = page >= pages;
    } catch (e) {
      status.textContent = e.error === 'unknown_method' ? 'Search is not available on this server yet.' : `Search failed: ${e.error}`;
      more.hidden = true;
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); run(true); });
  more.addEventListener('click', () => { page++; run(false); });

  return {
    el,
    show(q) { el.hidden = false; if (q !== undefined) { input.value = q; run(true); } input.focus(); },
    hide() { el.hidden = true; },
  };
}
