// A composer: multi-line text, Enter sends, Shift+Enter adds a line, Up in
// an empty box edits your last message, suggestions while typing, a typing
// signal to the others, and a draft kept per conversation (and thread).
import { Autocomplete } from './autocomplete.js';
import { h, prefs, debounce } from './util.js';

let seq = 0;

export class Composer {
  constructor({ label, onSend, onTyping, onEditLast, broadcast = false }) {
    const id = `composer-${++seq}`;
    this.onSend = onSend;
    this.onTyping = onTyping;
    this.onEditLast = onEditLast;
    this.key = null;
    this.ta = h('textarea', { id, rows: 1, 'aria-label': label, placeholder: label, autocomplete: 'off', spellcheck: 'true' });
    this.ac = new Autocomplete(this.ta);
    this.also = broadcast ? h('input', { type: 'checkbox', id: `${id}-bc` }) : null;
    this.send = h('button.send', { type: 'submit', 'aria-label': 'Send message', title: 'Send (Enter)' }, '➤');
    this.el = h('form.composer', { 'aria-label': `${label} composer` },
      this.ac.box,
      h('div.composer-box', {}, this.ta, this.send),
      this.also ? h('label.also', { for: `${id}-bc` }, this.also, ' Also send to channel') : null,
      h('p.composer-hint', {}, h('kbd', {}, 'Enter'), ' to send, ', h('kbd', {}, 'Shift+Enter'), ' for a new line'));
    this.saveDraft = debounce(() => { if (this.key) prefs.set(`draft.${this.key}`, this.ta.value || undefined); }, 300);
    this.ta.addEventListener('input', () => {
      this.grow();
      this.saveDraft();
      if (this.ta.value && !this.ta.value.startsWith('/')) this.typing();
    });
    this.ta.addEventListener('keydown', (ev) => this.keydown(ev));
    this.el.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
  }

  typing() {
    const now = Date.now();
    if (now - (this.lastTyping || 0) < 3000) return;
    this.lastTyping = now;
    this.onTyping?.();
  }

  grow() {
    this.ta.style.height = 'auto';
    this.ta.style.height = `${Math.min(this.ta.scrollHeight, 240)}px`;
  }

  setKey(key) {
    if (this.key) prefs.set(`draft.${this.key}`, this.ta.value || undefined);
    this.key = key;
    this.ta.value = prefs.get(`draft.${key}`, '');
    this.grow();
  }

  focus() { this.ta.focus(); }

  keydown(ev) {
    if (ev.isComposing) return;
    if (this.ac.key(ev)) { ev.preventDefault(); return; }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === 'ArrowUp' && !this.ta.value && this.onEditLast) {
      ev.preventDefault();
      this.onEditLast();
    }
  }

  async submit() {
    const text = this.ta.value;
    if (!text.trim()) return;
    const broadcast = this.also?.checked;
    this.ta.value = '';
    this.grow();
    prefs.set(`draft.${this.key}`, undefined);
    this.lastTyping = 0;
    try {
      await this.onSend(text, { broadcast });
      if (this.also) this.also.checked = false;
    } catch (e) {
      // Keep what was written: put it back if nothing new was typed.
      if (!this.ta.value) { this.ta.value = text; this.grow(); this.saveDraft(); }
      throw e;
    }
  }
}
