// The channel's message list. Only a window of at most MAX_ROWS rows around
// what is on screen is in the DOM, however many messages are loaded:
// scrolling up renders older rows (and pages older history in when the
// loaded ones run out), drops rows far below, and keeps the scroll position
// steady; scrolling down does the opposite.
import { S, loadHistory, loadNewer, convName } from './state.js';
import { messageRow } from './message.js';
import { h, tsCmp } from './util.js';

const MAX_ROWS = 160;
const STEP = 40;
const FIRST = 60;
const EDGE_PX = 800;

function indexOf(msgs, ts) {
  let lo = 0;
  let hi = msgs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = tsCmp(msgs[mid].ts, ts);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

export class MessageList {
  constructor() {
    this.scroller = h('div.scroller', { tabindex: '0', 'aria-label': 'Messages: Up and Down move between them' });
    // From the list itself, Up goes to the newest message on screen; from
    // there Up/Down move message by message (actions.js).
    this.scroller.addEventListener('keydown', (ev) => {
      if (ev.target !== this.scroller || ev.key !== 'ArrowUp' || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const box = this.scroller.getBoundingClientRect();
      const arts = [...this.list.querySelectorAll('article.msg')].filter((a) => a.getBoundingClientRect().top < box.bottom);
      const last = arts[arts.length - 1];
      if (last) { ev.preventDefault(); last.focus(); }
    });
    this.top = h('div.list-top', { 'aria-live': 'polite' });
    this.list = h('div.msgs', { role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    this.scroller.append(this.top, this.list);
    this.conv = null;
    this.start = 0;   // index of the first rendered message
    this.end = 0;     // one past the last rendered
    this.busy = false;
    this.scroller.addEventListener('scroll', () => {
      if (this.raf) return;
      this.raf = requestAnimationFrame(() => { this.raf = 0; this.onScroll(); });
    }, { passive: true });
  }

  get msgs() { return this.conv ? this.conv.msgs : []; }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }

  atLiveEnd() { return this.end >= this.msgs.length && !this.conv?.hasNewer; }

  scrollToBottom() { this.scroller.scrollTop = this.scroller.scrollHeight; }

  row(i) { return messageRow(this.msgs[i], i > 0 ? this.msgs[i - 1] : null); }

  renderTop() {
    const c = this.conv;
    if (!c) return;
    if (this.start > 0 || c.hasOlder) this.top.replaceChildren(h('p.loading', {}, 'Loading older messages…'));
    else this.top.replaceChildren(h('div.beginning', {}, h('h2', {}, c.is_im || c.is_mpim ? convName(c) : `#${convName(c)}`),
      h('p', {}, c.is_im ? `This is the very beginning of your direct messages with ${convName(c)}.` : `This is the very beginning of ${c.is_im || c.is_mpim ? 'this conversation' : `#${convName(c)}`}.`)));
  }

  // Renders the window [start, end) from scratch.
  renderWindow(start, end) {
    this.start = Math.max(0, start);
    this.end = Math.min(this.msgs.length, end);
    const frag = document.createDocumentFragment();
    for (let i = this.start; i < this.end; i++) frag.append(this.row(i));
    this.list.replaceChildren(frag);
    this.renderTop();
  }

  show(conv, { focusTs } = {}) {
    this.conv = conv;
    this.list.setAttribute('aria-label', `Messages in ${conv.is_im || conv.is_mpim ? '' : '#'}${convName(conv)}`);
    const n = conv.msgs.length;
    if (focusTs) {
      const i = Math.max(0, indexOf(conv.msgs, focusTs));
      this.renderWindow(i - FIRST / 2, i + FIRST / 2);
      this.focus(focusTs);
    } else {
      this.renderWindow(n - FIRST, n);
      this.scrollToBottom();
      if (this.scroller.scrollHeight <= this.scroller.clientHeight + EDGE_PX) this.onScroll();
    }
  }

  focus(ts) {
    const r = this.list.querySelector(`.row[data-ts="${CSS.escape(ts)}"]`);
    if (!r) return;
    r.scrollIntoView({ block: 'center' });
    const art = r.querySelector('article');
    for (const old of this.list.querySelectorAll('article[data-target]')) delete old.dataset.target;
    art.classList.add('highlight');
    art.dataset.target = '1';   // the message a link pointed at
    art.focus({ preventScroll: true });
    setTimeout(() => art.classList.remove('highlight'), 4000);
  }

  // Adds rows above, keeping what is on screen where it is.
  prepend(count) {
    const from = Math.max(0, this.start - count);
    if (from === this.start) return;
    const frag = document.createDocumentFragment();
    for (let i = from; i < this.start; i++) frag.append(this.row(i));
    const before = this.scroller.scrollHeight;
    const first = this.list.firstElementChild;
    this.list.prepend(frag);
    this.start = from;
    // The old first row now has a message before it (day separator).
    if (first) first.replaceWith(this.row(indexOfRow(this, first)));
    this.scroller.scrollTop += this.scroller.scrollHeight - before;
    this.renderTop();
    this.trim('bottom');
  }

  append(count) {
    const to = Math.min(this.msgs.length, this.end + count);
    const frag = document.createDocumentFragment();
    for (let i = this.end; i < to; i++) frag.append(this.row(i));
    this.list.append(frag);
    this.end = to;
    this.trim('top');
  }

  trim(side) {
    const extra = this.end - this.start - MAX_ROWS;
    if (extra <= 0) return;
    if (side === 'bottom') {
      for (let i = 0; i < extra; i++) this.list.lastElementChild.remove();
      this.end -= extra;
    } else {
      const before = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      for (let i = 0; i < extra; i++) this.list.firstElementChild.remove();
      this.start += extra;
      this.scroller.scrollTop = top - (before - this.scroller.scrollHeight);
      this.renderTop();
    }
  }

  async onScroll() {
    const c = this.conv;
    if (!c || this.busy) return;
    const s = this.scroller;
    if (s.scrollTop < EDGE_PX) {
      if (this.start > 0) this.prepend(STEP);
      else if (c.hasOlder) {
        this.busy = true;
        try { await loadHistory(c.id, { older: true }); } catch { /* retried on the next scroll */ } finally { this.busy = false; }
      }
    } else if (s.scrollHeight - s.scrollTop - s.clientHeight < EDGE_PX) {
      if (this.end < this.msgs.length) this.append(STEP);
      else if (c.hasNewer) {
        this.busy = true;
        try { await loadNewer(c.id); } catch { /* retried */ } finally { this.busy = false; }
      }
    }
  }

  // Older messages arrived at the front: the window's indices move.
  olderLoaded(added) {
    this.start += added;
    this.end += added;
    this.prepend(STEP);
    if (this.scroller.scrollTop < EDGE_PX) requestAnimationFrame(() => this.onScroll());
  }

  newerLoaded() { this.append(STEP); }

  // A message added somewhere in the loaded list.
  added(ts) {
    const i = indexOf(this.msgs, ts);
    if (i < 0) return;
    if (i >= this.end) {
      if (this.end !== i) return;  // not contiguous with what is shown
      const stick = this.atBottom();
      this.list.append(this.row(i));
      this.end++;
      this.trim('top');
      if (stick || this.msgs[i].user === S.me.id) this.scrollToBottom();
      return;
    }
    if (i < this.start) { this.start++; this.end++; return; }
    this.renderWindow(this.start, this.end + 1);
  }

  changed(ts) {
    const r = this.list.querySelector(`.row[data-ts="${CSS.escape(ts)}"]`);
    if (!r) return;
    const i = indexOf(this.msgs, ts);
    if (i < 0) return;
    const stick = this.atBottom();
    r.replaceWith(this.row(i));
    if (stick) this.scrollToBottom();
  }

  removed(ts) {
    const r = this.list.querySelector(`.row[data-ts="${CSS.escape(ts)}"]`);
    if (!r) return;
    const next = r.nextElementSibling;
    r.remove();
    this.end--;
    if (next) this.changed(next.dataset.ts);
  }
}

function indexOfRow(ml, el) {
  const i = indexOf(ml.msgs, el.dataset.ts);
  return i < 0 ? 0 : i;
}
