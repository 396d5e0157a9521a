// A composer: multi-line text, Enter sends, Shift+Enter adds a line, Up in
// an empty box edits your last message, suggestions while typing, a typing
// signal to the others, a draft kept per conversation (and thread), and
// files to share with the message (the clip button, drag-and-drop, paste),
// sent with a progress bar.
import { Autocomplete } from './autocomplete.js';
import { fmtSize } from './message.js';
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
    this.files = [];
    this.picker = h('input', { type: 'file', multiple: true, hidden: true, 'aria-hidden': 'true', tabindex: '-1' });
    this.attach = h('button.attach', { type: 'button', 'aria-label': 'Attach files', title: 'Attach files' }, '📎');
    this.fileList = h('ul.composer-files', { 'aria-label': 'Files to send' });
    this.progress = h('progress.upload-progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Upload progress' });
    this.el = h('form.composer', { 'aria-label': `${label} composer` },
      this.ac.box,
      this.fileList,
      h('div.composer-box', {}, this.ta, this.attach, this.send),
      this.picker, this.progress,
      this.also ? h('label.also', { for: `${id}-bc` }, this.also, ' Also send to channel') : null,
      h('p.composer-hint', {}, h('kbd', {}, 'Enter'), ' to send, ', h('kbd', {}, 'Shift+Enter'), ' for a new line'));
    this.saveDraft = debounce(() => { if (this.key) prefs.set(`draft.${this.key}`, this.ta.value || undefined); }, 300);
    this.ta.addEventListener('input', () => {
      this.grow();
      this.saveDraft();
      if (this.ta.value && !this.ta.value.startsWith('/')) this.typing();
    });
    this.ta.addEventListener('keydown', (ev) => this.keydown(ev));
    this.el.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit().catch(() => {}); });
    this.attach.addEventListener('click', () => this.picker.click());
    this.picker.addEventListener('change', () => { this.addFiles(this.picker.files); this.picker.value = ''; });
    this.ta.addEventListener('paste', (ev) => {
      const fs = ev.clipboardData?.files;
      if (fs?.length) { ev.preventDefault(); this.addFiles(fs); }
    });
    const isFiles = (ev) => [...(ev.dataTransfer?.types || [])].includes('Files');
    this.el.addEventListener('dragover', (ev) => { if (isFiles(ev)) { ev.preventDefault(); this.el.classList.add('dragging'); } });
    this.el.addEventListener('dragleave', () => this.el.classList.remove('dragging'));
    this.el.addEventListener('drop', (ev) => {
      this.el.classList.remove('dragging');
      if (ev.dataTransfer?.files?.length) { ev.preventDefault(); this.addFiles(ev.dataTransfer.files); }
    });
  }

  addFiles(list) {
    for (const f of list) this.files.push(f);
    this.renderFiles();
    this.ta.focus();
  }

  renderFiles() {
    this.fileList.replaceChildren(...this.files.map((f, i) => h('li.composer-file', {},
      h('span', {}, `${f.name || 'pasted file'} (${fmtSize(f.size)})`),
      h('button', { type: 'button', 'aria-label': `Remove ${f.name || 'file'}`, onclick: () => { this.files.splice(i, 1); this.renderFiles(); this.ta.focus(); } }, '✕'))));
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
      this.submit().catch(() => {});   // a failure was shown (toast); the text stays
    } else if (ev.key === 'ArrowUp' && !this.ta.value && this.onEditLast) {
      ev.preventDefault();
      this.onEditLast();
    }
  }

  async submit() {
    const text = this.ta.value;
    const files = this.files;
    if (!text.trim() && !files.length) return;
    if (this.uploading) return;
    const broadcast = this.also?.checked;
    this.ta.value = '';
    this.grow();
    prefs.set(`draft.${this.key}`, undefined);
    this.lastTyping = 0;
    let onProgress;
    if (files.length) {
      this.uploading = true;
      this.progress.value = 0;
      this.progress.hidden = false;
      onProgress = (x) => { this.progress.value = Math.min(1, x); };
    }
    try {
      await this.onSend(text, { broadcast, files: files.length ? files : undefined, onProgress });
      if (this.also) this.also.checked = false;
      if (files.length) { this.files = []; this.renderFiles(); }
    } catch (e) {
      // Keep what was written: put it back if nothing new was typed.
      if (!this.ta.value) { this.ta.value = text; this.grow(); this.saveDraft(); }
      throw e;
    } finally {
      if (files.length) { this.uploading = false; this.progress.hidden = true; }
    }
  }
}
