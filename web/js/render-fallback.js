// Stand-ins for mrkdwn.js, emoji.js and blockkit.js, loaded by render.js
// only where one of those is missing: escaped text with the common marks,
// mentions and links; a few emoji; the usual Block Kit blocks.
import { S, userName } from './state.js';
import { esc } from './util.js';

const FALLBACK_EMOJI = {
  eyes: '👀', wrench: '🔧', white_check_mark: '✅', '+1': '👍', thumbsup: '👍', '-1': '👎', heart: '❤️',
  joy: '😂', smile: '😄', tada: '🎉', fire: '🔥', rocket: '🚀', pray: '🙏', thinking_face: '🤔',
  warning: '⚠️', x: '❌', ok_hand: '👌', wave: '👋', raised_hands: '🙌', 100: '💯',
};

export const emojiChar = (name) => FALLBACK_EMOJI[name] || null;
export const searchEmoji = (prefix, limit) => Object.entries(FALLBACK_EMOJI).filter(([n]) => n.startsWith(prefix)).slice(0, limit).map(([name, char]) => ({ name, char }));
export const emojiNameOf = (ch) => Object.entries(FALLBACK_EMOJI).find(([, c]) => c === ch)?.[0] || null;
let ctx = null;

function mrkdwn(text) {
  let s = esc(text);
  const codes = [];
  s = s.replace(/```([\s\S]*?)```/g, (_, c) => { codes.push(`<pre>${c}</pre>`); return `\u0000${codes.length - 1}\u0000`; });
  s = s.replace(/`([^`\n]+)`/g, (_, c) => { codes.push(`<code>${c}</code>`); return `\u0000${codes.length - 1}\u0000`; });
  s = s.replace(/&lt;@([UW][A-Z0-9]+)(?:\|[^&]*)?&gt;/g, (_, id) => `<span class="mention${id === S.me?.id ? ' me' : ''}" data-user-id="${id}">@${esc(userName(id) || id)}</span>`);
  s = s.replace(/&lt;#([CGD][A-Z0-9]+)(?:\|([^&]*))?&gt;/g, (_, id, n) => `<a class="channel-link" data-channel-id="${id}" href="/archives/${id}">#${esc(ctx.channelName(id) || n || id)}</a>`);
  s = s.replace(/&lt;!(here|channel|everyone)(?:\|[^&]*)?&gt;/g, (_, w) => `<span class="mention broadcast">@${w}</span>`);
  s = s.replace(/&lt;(https?:\/\/[^|&\s]+)(?:\|([^&]+))?&gt;/g, (_, u, l) => `<a href="${u}" target="_blank" rel="noopener noreferrer">${l || u}</a>`);
  s = s.replace(/(^|\s)\*([^*\n]+)\*/g, '$1<b>$2</b>').replace(/(^|\s)_([^_\n]+)_/g, '$1<i>$2</i>').replace(/(^|\s)~([^~\n]+)~/g, '$1<s>$2</s>');
  s = s.replace(/:([a-z0-9_+-]+):/g, (m, n) => FALLBACK_EMOJI[n] || m);
  s = s.replace(/^&gt; ?(.*)$/gm, '<blockquote>$1</blockquote>');
  s = s.replace(/\n/g, '<br>');
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => codes[i]);
}

export function renderMrkdwn(text, c) { ctx = c; return mrkdwn(text); }

const txt = (t) => (!t ? '' : t.type === 'mrkdwn' ? mrkdwn(t.text) : esc(t.text).replace(/:([a-z0-9_+-]+):/g, (m, n) => (t.emoji !== false && FALLBACK_EMOJI[n]) || m));

function element(e, blockId) {
  const data = `data-action-id="${esc(e.action_id)}" data-block-id="${esc(blockId)}"`;
  if (e.type === 'button') return `<button type="button" class="bk-button ${e.style || ''}" data-kind="button" ${data} data-value="${esc(e.value ?? '')}">${txt(e.text)}</button>`;
  if (e.type === 'static_select') return `<select data-kind="static_select" ${data} aria-label="${esc(e.placeholder?.text || 'Choose')}"><option value="">${esc(e.placeholder?.text || 'Choose')}</option>${(e.options || []).map((o) => `<option value="${esc(o.value)}">${esc(o.text.text)}</option>`).join('')}</select>`;
  if (e.type === 'plain_text_input') return e.multiline ? `<textarea data-kind="plain_text_input" ${data}>${esc(e.initial_value || '')}</textarea>` : `<input data-kind="plain_text_input" ${data} value="${esc(e.initial_value || '')}">`;
  if (e.type === 'image') return `<img src="${esc(e.image_url)}" alt="${esc(e.alt_text)}" class="bk-ctx-img">`;
  return e.text ? txt(e) : '';
}

function blocksHtml(blocks) {
  return (blocks || []).map((b) => {
    const id = b.block_id || '';
    switch (b.type) {
      case 'section': return `<div class="bk-section">${txt(b.text)}${(b.fields || []).map((f) => `<div class="bk-field">${txt(f)}</div>`).join('')}${b.accessory ? element(b.accessory, id) : ''}</div>`;
      case 'header': return `<h3 class="bk-header">${txt(b.text)}</h3>`;
      case 'divider': return '<hr class="bk-divider">';
      case 'context': return `<div class="bk-context">${(b.elements || []).map((e) => element(e, id)).join(' ')}</div>`;
      case 'image': return `<img class="bk-image" src="${esc(b.image_url)}" alt="${esc(b.alt_text)}">`;
      case 'actions': return `<div class="bk-actions">${(b.elements || []).map((e) => element(e, id)).join('')}</div>`;
      case 'input': return `<label class="bk-input">${txt(b.label)}${element(b.element, id)}</label>`;
      default: return '';
    }
  }).join('');
}

export function renderBlocks(blocks, c) { ctx = c; return blocksHtml(blocks); }

export function readViewState(form) {
  const values = {};
  for (const el of form.querySelectorAll('[data-action-id][data-block-id]')) {
    const b = (values[el.dataset.blockId] ||= {});
    const kind = el.dataset.kind || 'plain_text_input';
    if (kind === 'static_select') b[el.dataset.actionId] = { type: kind, selected_option: el.value ? { text: { type: 'plain_text', text: el.selectedOptions[0].textContent }, value: el.value } : null };
    else if (kind !== 'button') b[el.dataset.actionId] = { type: kind, value: el.value };
  }
  return values;
}
