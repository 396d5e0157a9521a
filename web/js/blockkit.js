// Block Kit -> safe HTML for messages, modals and App Home, and the modal's
// view.state.values read back from the rendered form.
//
// Blocks come from apps, so nothing in them is trusted: every string is
// escaped, URLs pass safeUrl(), and a block or element of a wrong shape
// renders as a small neutral note instead of throwing (one bad block must not
// hide the message or the rest of the modal).
//
// Interactive elements carry data-kind (the element type), data-action-id,
// data-block-id and, where the element has one, data-value; options carry
// their Slack option object as JSON in data-option. The app code turns clicks
// into blocks.action with actionPayload() and the form into views.submit with
// readViewState(); docs/web-rendering.md has the whole contract.
import { renderMrkdwn, renderPlain, esc, safeUrl, tokenHtml, isEmojiText } from './mrkdwn.js';
import { emojiChar } from './emojiref.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const arr = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

let seq = 0;
const uid = () => `bk${(++seq).toString(36)}`;

const SHORTCODE = /:([a-z0-9_+'-]{1,100}(?:::skin-tone-[2-6])?):/g;
function plainEmoji(s, ctx) {
  return s.replace(SHORTCODE, (m, name) => {
    let v = null;
    try { v = ctx && typeof ctx.emoji === 'function' ? ctx.emoji(name) : null; } catch { v = null; }
    if (typeof v === 'string' && v && isEmojiText(v)) return v;
    return emojiChar(name) || m;
  });
}

/** A text object (plain_text or mrkdwn; a bare string is taken as plain) as HTML. */
export function textHtml(t, ctx) {
  if (typeof t === 'string') return esc(plainEmoji(t, ctx)).replace(/\n/g, '<br>');
  if (!isObj(t)) return '';
  const s = str(t.text);
  if (t.type === 'mrkdwn') return renderMrkdwn(s, ctx);
  return esc(t.emoji === false ? s : plainEmoji(s, ctx)).replace(/\n/g, '<br>');
}

/** A text object as plain text (for attributes, option labels, placeholders). */
export function textPlain(t, ctx) {
  if (typeof t === 'string') return plainEmoji(t, ctx);
  if (!isObj(t)) return '';
  const s = str(t.text);
  if (t.type === 'mrkdwn') return renderPlain(s, ctx);
  return t.emoji === false ? s : plainEmoji(s, ctx);
}

const attr = (name, v) => (v == null || v === '' ? '' : ` ${name}="${esc(v)}"`);
const json = (v) => esc(JSON.stringify(v));

function ids(el, blockId, kind) {
  const aid = str(el.action_id) || `${str(el.type) || kind}-${blockId}`;
  return ` data-kind="${esc(kind)}" data-block-id="${esc(blockId)}" data-action-id="${esc(aid)}"`;
}

function confirmAttr(el) {
  return isObj(el.confirm) ? ` data-confirm="${json(el.confirm)}"` : '';
}

// The option object Slack puts in selected_option(s): text, value, description.
function optionObj(o) {
  const out = { text: isObj(o.text) ? { type: o.text.type === 'mrkdwn' ? 'mrkdwn' : 'plain_text', text: str(o.text.text) } : { type: 'plain_text', text: str(o.text) }, value: str(o.value) };
  if (out.text.type === 'plain_text' && isObj(o.text) && typeof o.text.emoji === 'boolean') out.text.emoji = o.text.emoji;
  if (isObj(o.description)) out.description = { type: o.description.type === 'mrkdwn' ? 'mrkdwn' : 'plain_text', text: str(o.description.text) };
  return out;
}
const options = (v) => arr(v).filter(isObj);
const sameOpt = (a, b) => isObj(a) && isObj(b) && str(a.value) === str(b.value);

function unknownEl(type) {
  return `<span class="bk-unknown" title="${esc(str(type) || 'element')}">This element can't be displayed.</span>`;
}

function imageHtml(el, cls) {
  const url = el.image_url ?? (isObj(el.slack_file) ? el.slack_file.url : undefined);
  const src = imgUrl(url);
  if (!src) return `<span class="${cls} bk-image-missing">${esc(str(el.alt_text))}</span>`;
  return `<img class="${cls}" src="${esc(src)}" alt="${esc(str(el.alt_text))}" loading="lazy" referrerpolicy="no-referrer">`;
}
// Images may also be files served by Canal itself (a path on this origin).
function imgUrl(u) {
  if (typeof u !== 'string') return null;
  if (/^\/[^/\\]/.test(u) && !/[\u0000-\u0020]/.test(u)) return u;
  const s = safeUrl(u);
  return s && /^https?:/i.test(s) ? s : null;
}

function selectHtml(el, blockId, kind, ctx, id) {
  const multi = kind.startsWith('multi_');
  const initial = multi ? options(el.initial_options) : isObj(el.initial_option) ? [el.initial_option] : [];
  const opt = (o) => {
    const sel = initial.some((i) => sameOpt(i, o));
    return `<option value="${esc(str(o.value))}" data-option="${json(optionObj(o))}"${sel ? ' selected' : ''}>${esc(textPlain(o.text, ctx))}</option>`;
  };
  let body = '';
  if (!multi) body += `<option value=""${initial.length ? '' : ' selected'}>${esc(textPlain(el.placeholder, ctx) || 'Select an option')}</option>`;
  if (Array.isArray(el.option_groups)) {
    for (const g of options(el.option_groups)) body += `<optgroup label="${esc(textPlain(g.label, ctx))}">${options(g.options).map(opt).join('')}</optgroup>`;
  } else {
    body += options(el.options).map(opt).join('');
  }
  const max = multi && Number.isInteger(el.max_selected_items) ? attr('data-max-selected', el.max_selected_items) : '';
  return `<select class="bk-select"${attr('id', id)}${ids(el, blockId, kind)}${multi ? ' multiple' : ''}${max}${confirmAttr(el)}${el.focus_on_load ? ' autofocus' : ''}>${body}</select>`;
}

// users/conversations/channels/external selects need data the app code has
// (member lists, the server's options): a button it opens a picker from.
const PICKER = {
  users_select: ['initial_user', 'userName', '@'],
  multi_users_select: ['initial_users', 'userName', '@'],
  conversations_select: ['initial_conversation', 'channelName', '#'],
  multi_conversations_select: ['initial_conversations', 'channelName', '#'],
  channels_select: ['initial_channel', 'channelName', '#'],
  multi_channels_select: ['initial_channels', 'channelName', '#'],
};
function pickerHtml(el, blockId, kind, ctx, id) {
  const multi = kind.startsWith('multi_');
  let value = '';
  let label = '';
  let extra = '';
  if (kind.endsWith('external_select')) {
    const init = multi ? options(el.initial_options) : isObj(el.initial_option) ? [el.initial_option] : [];
    value = init.map((o) => str(o.value)).join(',');
    label = init.map((o) => textPlain(o.text, ctx)).join(', ');
    extra = multi ? ` data-options="${json(init.map(optionObj))}"` : init.length ? ` data-option="${json(optionObj(init[0]))}"` : '';
    if (Number.isInteger(el.min_query_length)) extra += attr('data-min-query-length', el.min_query_length);
  } else {
    const [field, fn, sigil] = PICKER[kind];
    const init = multi ? arr(el[field]).filter((x) => typeof x === 'string') : typeof el[field] === 'string' ? [el[field]] : [];
    value = init.join(',');
    label = init.map((x) => {
      let n = null;
      try { n = ctx && typeof ctx[fn] === 'function' ? ctx[fn](x) : null; } catch { n = null; }
      return sigil + (typeof n === 'string' && n ? n : x);
    }).join(', ');
    if (isObj(el.filter)) extra += ` data-filter="${json(el.filter)}"`;
    if (el.default_to_current_conversation) extra += ' data-default-current="true"';
  }
  if (multi) {
    extra += ' data-multi="true"';
    if (Number.isInteger(el.max_selected_items)) extra += attr('data-max-selected', el.max_selected_items);
  }
  const ph = textPlain(el.placeholder, ctx) || (kind.includes('user') ? 'Select a person' : kind.includes('external') ? 'Select an option' : 'Select a channel');
  return `<button type="button" class="bk-picker"${attr('id', id)}${ids(el, blockId, kind)} data-value="${esc(value)}" data-placeholder="${esc(ph)}" aria-haspopup="listbox"${extra}${confirmAttr(el)}>${esc(label || ph)}</button>`;
}

function choiceHtml(el, blockId, kind, ctx, id) {
  const radio = kind === 'radio_buttons';
  const initial = radio ? (isObj(el.initial_option) ? [el.initial_option] : []) : options(el.initial_options);
  const name = `${blockId}.${str(el.action_id)}.${uid()}`;
  const items = options(el.options).map((o) => {
    const checked = initial.some((i) => sameOpt(i, o)) ? ' checked' : '';
    const desc = o.description ? `<span class="bk-desc">${textHtml(o.description, ctx)}</span>` : '';
    return `<label class="bk-option"><input type="${radio ? 'radio' : 'checkbox'}" name="${esc(name)}" value="${esc(str(o.value))}" data-option="${json(optionObj(o))}"${checked}><span class="bk-option-text">${textHtml(o.text, ctx)}${desc}</span></label>`;
  }).join('');
  return `<div class="bk-${radio ? 'radios' : 'checkboxes'}" role="${radio ? 'radiogroup' : 'group'}"${attr('id', id)}${id ? ` aria-labelledby="${id}-l"` : ''}${ids(el, blockId, kind)}${confirmAttr(el)}>${items}</div>`;
}

function overflowHtml(el, blockId, ctx) {
  const items = options(el.options).map((o) => {
    const url = safeUrl(o.url);
    const common = `${ids(el, blockId, 'overflow')} data-value="${esc(str(o.value))}" data-option="${json(optionObj(o))}" role="menuitem"`;
    return url
      ? `<li><a class="bk-overflow-item" href="${esc(url)}" rel="noopener noreferrer" target="_blank"${common}>${esc(textPlain(o.text, ctx))}</a></li>`
      : `<li><button type="button" class="bk-overflow-item"${common}>${esc(textPlain(o.text, ctx))}</button></li>`;
  }).join('');
  return `<div class="bk-overflow"><button type="button" class="bk-overflow-toggle"${ids(el, blockId, 'overflow_toggle')} aria-haspopup="menu" aria-expanded="false" aria-label="More options"${confirmAttr(el)}>⋯</button><ul class="bk-overflow-menu" role="menu" hidden>${items}</ul></div>`;
}

function pad2(n) { return String(n).padStart(2, '0'); }
function localDateTime(sec) {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) return '';
  const secs = d.getSeconds() ? `:${pad2(d.getSeconds())}` : '';
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}${secs}`;
}

function textInputHtml(el, blockId, kind, ctx, id) {
  const common = `${attr('id', id)}${ids(el, blockId, kind)} class="bk-text-input"${attr('placeholder', textPlain(el.placeholder, ctx))}${el.focus_on_load ? ' autofocus' : ''}`;
  const dispatch = el.dispatch_action_config ? ` data-dispatch="${json(el.dispatch_action_config)}"` : '';
  if (kind === 'plain_text_input') {
    const lim = `${Number.isInteger(el.min_length) ? attr('minlength', el.min_length) : ''}${Number.isInteger(el.max_length) ? attr('maxlength', el.max_length) : ''}`;
    if (el.multiline) return `<textarea${common}${lim}${dispatch} rows="4">${esc(str(el.initial_value))}</textarea>`;
    return `<input type="text"${common}${lim}${dispatch} value="${esc(str(el.initial_value))}">`;
  }
  if (kind === 'number_input') {
    const num = (v) => (v == null || v === '' || !Number.isFinite(Number(v)) ? '' : String(Number(v)));
    return `<input type="number"${common}${dispatch} step="${el.is_decimal_allowed ? 'any' : '1'}"${attr('min', num(el.min_value))}${attr('max', num(el.max_value))} value="${esc(num(el.initial_value))}" data-decimal="${el.is_decimal_allowed ? 'true' : 'false'}">`;
  }
  if (kind === 'rich_text_input') {
    const init = isObj(el.initial_value) ? richPlain(el.initial_value) : '';
    return `<textarea${common}${dispatch} rows="4">${esc(init)}</textarea>`;
  }
  const type = kind === 'email_text_input' ? 'email' : 'url';
  return `<input type="${type}"${common}${dispatch} value="${esc(str(el.initial_value))}">`;
}

/** One interactive or image element. id, when given, is for the input block's <label for>. */
function elementHtml(el, blockId, ctx, id) {
  if (!isObj(el)) return unknownEl('');
  const kind = str(el.type);
  switch (kind) {
    case 'button':
    case 'workflow_button': {
      const style = el.style === 'primary' || el.style === 'danger' ? ` bk-${el.style}` : '';
      const label = textHtml(el.text, ctx) || 'Button';
      const tobj = isObj(el.text) ? { type: 'plain_text', text: str(el.text.text) } : { type: 'plain_text', text: 'Button' };
      const a = `${ids(el, blockId, kind)}${attr('data-value', str(el.value))} data-text="${json(tobj)}"${el.style === 'primary' || el.style === 'danger' ? ` data-style="${el.style}"` : ''}${confirmAttr(el)}${attr('aria-label', str(el.accessibility_label))}`;
      const url = safeUrl(el.url);
      if (url) return `<a class="bk-button${style}" href="${esc(url)}" rel="noopener noreferrer" target="_blank" data-url="${esc(url)}"${a}>${label}</a>`;
      if (kind === 'workflow_button' && isObj(el.workflow)) return `<button type="button" class="bk-button${style}"${a} data-workflow="${json(el.workflow)}">${label}</button>`;
      return `<button type="button" class="bk-button${style}"${a}>${label}</button>`;
    }
    case 'static_select':
    case 'multi_static_select':
      return selectHtml(el, blockId, kind, ctx, id);
    case 'users_select': case 'multi_users_select':
    case 'conversations_select': case 'multi_conversations_select':
    case 'channels_select': case 'multi_channels_select':
    case 'external_select': case 'multi_external_select':
      return pickerHtml(el, blockId, kind, ctx, id);
    case 'overflow':
      return overflowHtml(el, blockId, ctx);
    case 'datepicker': {
      const v = /^\d{4}-\d{2}-\d{2}$/.test(str(el.initial_date)) ? el.initial_date : '';
      return `<input type="date" class="bk-date"${attr('id', id)}${ids(el, blockId, kind)} value="${esc(v)}"${attr('aria-label', textPlain(el.placeholder, ctx))}${confirmAttr(el)}>`;
    }
    case 'timepicker': {
      const v = /^\d{2}:\d{2}$/.test(str(el.initial_time)) ? el.initial_time : '';
      return `<input type="time" class="bk-date"${attr('id', id)}${ids(el, blockId, kind)} value="${esc(v)}"${attr('data-timezone', str(el.timezone))}${confirmAttr(el)}>`;
    }
    case 'datetimepicker': {
      const v = Number.isInteger(el.initial_date_time) ? localDateTime(el.initial_date_time) : '';
      return `<input type="datetime-local" class="bk-date"${attr('id', id)}${ids(el, blockId, kind)} value="${esc(v)}"${v.length > 16 ? ' step="1"' : ''}${confirmAttr(el)}>`;
    }
    case 'checkboxes':
    case 'radio_buttons':
      return choiceHtml(el, blockId, kind, ctx, id);
    case 'plain_text_input': case 'email_text_input': case 'url_text_input':
    case 'number_input': case 'rich_text_input':
      return textInputHtml(el, blockId, kind, ctx, id);
    case 'image':
      return imageHtml(el, 'bk-el-image');
    default:
      return unknownEl(kind);
  }
}

/* ---------- rich_text ---------- */

function richEmoji(e, ctx) {
  const name = str(e.name);
  const tone = Number.isInteger(e.skin_tone) && e.skin_tone >= 2 && e.skin_tone <= 6 ? `::skin-tone-${e.skin_tone}` : '';
  let c = emojiChar(name + tone) || emojiChar(name);
  if (!c && /^[0-9a-f]{2,6}(-[0-9a-f]{2,6}){0,9}$/i.test(str(e.unicode))) {
    try { c = String.fromCodePoint(...e.unicode.split('-').map((h) => parseInt(h, 16))); } catch { c = null; }
  }
  if (c) return `<span class="emoji" title="${esc(`:${name}:`)}">${esc(c)}</span>`;
  return tokenHtml({ t: 'emoji', name: name + tone }, ctx) || esc(`:${name}:`);
}

function styled(html, st) {
  if (!isObj(st)) return html;
  if (st.code) html = `<code class="mk-code">${html}</code>`;
  if (st.strike) html = `<s>${html}</s>`;
  if (st.italic) html = `<i>${html}</i>`;
  if (st.bold) html = `<b>${html}</b>`;
  if (st.underline) html = `<u>${html}</u>`;
  return html;
}

function richInline(els, ctx, pre) {
  let h = '';
  for (const e of arr(els)) {
    if (!isObj(e)) continue;
    const br = (s) => esc(s).replace(/\n/g, pre ? '\n' : '<br>');
    switch (e.type) {
      case 'text': h += styled(br(str(e.text)), pre ? null : e.style); break;
      case 'link': {
        const url = safeUrl(e.url);
        const label = br(str(e.text) || str(e.url));
        h += styled(url ? `<a href="${esc(url)}" rel="noopener noreferrer" target="_blank">${label}</a>` : label, pre ? null : e.style);
        break;
      }
      case 'emoji': h += richEmoji(e, ctx); break;
      case 'user': h += styled(tokenHtml({ t: 'user', id: str(e.user_id), label: null }, ctx), e.style); break;
      case 'usergroup': h += styled(tokenHtml({ t: 'usergroup', id: str(e.usergroup_id), label: null }, ctx), e.style); break;
      case 'channel': h += styled(tokenHtml({ t: 'channel', id: str(e.channel_id), label: null }, ctx), e.style); break;
      case 'broadcast': {
        const r = ['here', 'channel', 'everyone'].includes(e.range) ? e.range : 'here';
        h += styled(tokenHtml({ t: 'broadcast', range: r, label: null }, ctx), e.style);
        break;
      }
      case 'date':
        h += tokenHtml({ t: 'date', ts: str(e.timestamp), format: str(e.format) || '{date_short} {time}', link: typeof e.url === 'string' ? e.url : null, fallback: str(e.fallback) }, ctx);
        break;
      case 'color': {
        const v = /^#[0-9a-f]{3,8}$/i.test(str(e.value)) ? e.value : '';
        h += `<span class="bk-color">${v ? `<span class="bk-swatch" style="background:${esc(v)}"></span>` : ''}${esc(str(e.value))}</span>`;
        break;
      }
      case 'team': h += `<span class="mention">${esc(str(e.team_id))}</span>`; break;
      default: break;
    }
  }
  return h;
}

function richHtml(block, ctx) {
  let h = '';
  for (const e of arr(block.elements)) {
    if (!isObj(e)) continue;
    switch (e.type) {
      case 'rich_text_section': h += `<div class="bk-rt-section">${richInline(e.elements, ctx, false)}</div>`; break;
      case 'rich_text_preformatted': h += `<pre class="mk-pre">${richInline(e.elements, ctx, true)}</pre>`; break;
      case 'rich_text_quote': h += `<blockquote class="mk-quote">${richInline(e.elements, ctx, false)}</blockquote>`; break;
      case 'rich_text_list': {
        const ordered = e.style === 'ordered';
        const indent = Number.isInteger(e.indent) ? Math.max(0, Math.min(6, e.indent)) : 0;
        const start = ordered && Number.isInteger(e.offset) && e.offset > 0 ? ` start="${e.offset + 1}"` : '';
        const tag = ordered ? 'ol' : 'ul';
        const items = arr(e.elements).filter(isObj).map((s) => `<li>${richInline(s.elements, ctx, false)}</li>`).join('');
        h += `<${tag} class="bk-rt-list bk-rt-indent-${indent}${e.border ? ' bk-rt-border' : ''}"${start}>${items}</${tag}>`;
        break;
      }
      default: h += unknownEl(e.type);
    }
  }
  return h;
}

function richPlain(block) {
  const text = (els) => arr(els).map((e) => (isObj(e) ? str(e.text) || (e.type === 'emoji' ? `:${str(e.name)}:` : '') : '')).join('');
  return arr(block.elements).filter(isObj).map((e) => (e.type === 'rich_text_list' ? arr(e.elements).filter(isObj).map((s) => text(s.elements)).join('\n') : text(e.elements))).join('\n');
}

// The markdown block takes standard Markdown; the common subset maps onto mrkdwn.
function markdownHtml(text, ctx) {
  const s = str(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/^#{1,6}[ \t]+(.+)$/gm, '*$1*')
    .replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, '*$1*')
    .replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~')
    .replace(/\[([^\]\n|]+)\]\(((?:https?:\/\/|mailto:)[^\s)|]+)\)/g, '<$2|$1>')
    .replace(/^&gt;/gm, '&gt;');
  return renderMrkdwn(s, ctx);
}

/* ---------- blocks ---------- */

function blockHtml(b, i, ctx) {
  if (!isObj(b)) return `<div class="bk-block bk-unknown">This content can't be displayed.</div>`;
  const type = str(b.type);
  const blockId = str(b.block_id) || `b${i}`;
  const open = (cls, tag = 'div') => `<${tag} class="bk-block ${cls}" data-block-id="${esc(blockId)}">`;
  switch (type) {
    case 'section': {
      const text = b.text ? `<div class="bk-text">${textHtml(b.text, ctx)}</div>` : '';
      const fields = Array.isArray(b.fields) && b.fields.length
        ? `<div class="bk-fields">${b.fields.map((f) => `<div class="bk-field">${textHtml(f, ctx)}</div>`).join('')}</div>` : '';
      const acc = isObj(b.accessory) ? `<div class="bk-accessory">${elementHtml(b.accessory, blockId, ctx)}</div>` : '';
      return `${open('bk-section')}<div class="bk-section-body">${text}${fields}</div>${acc}</div>`;
    }
    case 'context': {
      const items = arr(b.elements).map((e) => (isObj(e) && e.type === 'image' ? imageHtml(e, 'bk-context-img')
        : `<span class="bk-context-text">${textHtml(e, ctx)}</span>`)).join('');
      return `${open('bk-context')}${items}</div>`;
    }
    case 'divider':
      return `<hr class="bk-block bk-divider" data-block-id="${esc(blockId)}">`;
    case 'header':
      return `${open('bk-header', 'h3')}${esc(textPlain(b.text, ctx))}</h3>`;
    case 'image': {
      const title = b.title ? `<figcaption class="bk-image-title">${textHtml(b.title, ctx)}</figcaption>` : '';
      return `${open('bk-image', 'figure')}${title}${imageHtml(b, 'bk-img')}</figure>`;
    }
    case 'actions':
      return `${open('bk-actions')}${arr(b.elements).map((e) => elementHtml(e, blockId, ctx)).join('')}</div>`;
    case 'input': {
      const id = uid();
      const el = isObj(b.element) ? b.element : null;
      const labelled = el && !['checkboxes', 'radio_buttons'].includes(el.type);
      const opt = b.optional ? ' <span class="bk-optional">(optional)</span>' : '';
      const label = `<${labelled ? `label for="${id}"` : `span id="${id}-l"`} class="bk-label">${esc(textPlain(b.label, ctx))}${opt}</${labelled ? 'label' : 'span'}>`;
      const body = el ? elementHtml(el, blockId, ctx, id) : unknownEl('');
      const hint = b.hint ? `<div class="bk-hint">${textHtml(b.hint, ctx)}</div>` : '';
      const flags = `${b.optional ? ' data-optional="true"' : ''}${b.dispatch_action ? ' data-dispatch-action="true"' : ''}`;
      return `<div class="bk-block bk-input" data-block-id="${esc(blockId)}"${flags}>${label}${body}${hint}<div class="bk-error" role="alert" data-error-for="${esc(blockId)}"></div></div>`;
    }
    case 'rich_text':
      return `${open('bk-rich-text')}${richHtml(b, ctx)}</div>`;
    case 'markdown':
      return `${open('bk-markdown')}${markdownHtml(b.text, ctx)}</div>`;
    case 'video': {
      const url = safeUrl(b.title_url) || safeUrl(b.video_url);
      const thumb = imgUrl(b.thumbnail_url);
      const title = esc(textPlain(b.title, ctx) || str(b.alt_text));
      const img = thumb ? `<img class="bk-img" src="${esc(thumb)}" alt="${esc(str(b.alt_text))}" loading="lazy" referrerpolicy="no-referrer">` : '';
      const head = url ? `<a href="${esc(url)}" rel="noopener noreferrer" target="_blank">${title}</a>` : title;
      return `${open('bk-video')}<div class="bk-video-title">${head}</div>${b.description ? `<div class="bk-context-text">${textHtml(b.description, ctx)}</div>` : ''}${img}</div>`;
    }
    default:
      return `${open('bk-unknown')}This content can't be displayed.</div>`;
  }
}

/**
 * Renders a blocks array as safe HTML. ctx is renderMrkdwn's ctx (userName,
 * channelName, usergroupHandle, emoji). Never throws: anything unreadable
 * becomes a neutral "can't be displayed" note.
 */
export function renderBlocks(blocks, ctx) {
  const c = ctx || {};
  return arr(blocks).map((b, i) => {
    try {
      return blockHtml(b, i, c);
    } catch {
      return `<div class="bk-block bk-unknown">This content can't be displayed.</div>`;
    }
  }).join('');
}

/* ---------- legacy attachments ---------- */

const ATT_COLORS = { good: '#2eb886', warning: '#daa038', danger: '#a30200' };

function attachmentHtml(a, ctx) {
  if (!isObj(a)) return '';
  const color = (typeof a.color === 'string' && Object.hasOwn(ATT_COLORS, a.color) ? ATT_COLORS[a.color] : '') || (/^#?[0-9a-f]{6}$|^#?[0-9a-f]{3}$/i.test(str(a.color)) ? `#${str(a.color).replace(/^#/, '')}` : '');
  const md = (t) => renderMrkdwn(str(t), ctx);
  let body = '';
  if (a.author_name) {
    const icon = imgUrl(a.author_icon);
    const name = esc(str(a.author_name));
    const link = safeUrl(a.author_link);
    body += `<div class="bk-att-author">${icon ? `<img class="bk-context-img" src="${esc(icon)}" alt="" loading="lazy" referrerpolicy="no-referrer">` : ''}${link ? `<a href="${esc(link)}" rel="noopener noreferrer" target="_blank">${name}</a>` : name}</div>`;
  }
  if (a.title) {
    const link = safeUrl(a.title_link);
    const t = esc(str(a.title));
    body += `<div class="bk-att-title">${link ? `<a href="${esc(link)}" rel="noopener noreferrer" target="_blank">${t}</a>` : t}</div>`;
  }
  if (a.text) body += `<div class="bk-text">${md(a.text)}</div>`;
  if (Array.isArray(a.fields) && a.fields.length) {
    body += `<div class="bk-att-fields">${a.fields.filter(isObj).map((f) => `<div class="bk-att-field${f.short ? ' bk-att-short' : ''}">${f.title ? `<div class="bk-att-field-title">${esc(str(f.title))}</div>` : ''}<div>${md(f.value)}</div></div>`).join('')}</div>`;
  }
  if (Array.isArray(a.blocks)) body += renderBlocks(a.blocks, ctx);
  const links = arr(a.actions).filter((x) => isObj(x) && safeUrl(x.url)).map((x) => {
    const style = x.style === 'primary' || x.style === 'danger' ? ` bk-${x.style}` : '';
    return `<a class="bk-button${style}" href="${esc(safeUrl(x.url))}" rel="noopener noreferrer" target="_blank">${esc(str(x.text))}</a>`;
  }).join('');
  if (links) body += `<div class="bk-actions">${links}</div>`;
  const img = imgUrl(a.image_url);
  if (img) body += `<img class="bk-img" src="${esc(img)}" alt="${esc(str(a.fallback))}" loading="lazy" referrerpolicy="no-referrer">`;
  const foot = [];
  if (a.footer) foot.push(md(a.footer));
  const ts = Number(a.ts);
  if (a.ts != null && Number.isFinite(ts) && ts > 0) {
    const d = new Date(ts * 1000);
    if (!Number.isNaN(d.getTime())) foot.push(`<time class="mk-date" datetime="${esc(d.toISOString())}">${esc(d.toLocaleString())}</time>`);
  }
  if (foot.length) {
    const icon = imgUrl(a.footer_icon);
    body += `<div class="bk-context">${icon ? `<img class="bk-context-img" src="${esc(icon)}" alt="" loading="lazy" referrerpolicy="no-referrer">` : ''}${foot.map((f) => `<span class="bk-context-text">${f}</span>`).join(' · ')}</div>`;
  }
  const thumb = imgUrl(a.thumb_url);
  if (!body && !thumb) body = a.fallback ? `<div class="bk-text">${esc(str(a.fallback))}</div>` : '';
  if (!body && !thumb && !a.pretext) return '';
  const pre = a.pretext ? `<div class="bk-att-pretext">${md(a.pretext)}</div>` : '';
  const bar = color ? ` style="border-left-color:${color}"` : '';
  return `${pre}<div class="bk-attachment"${bar}><div class="bk-att-body">${body}</div>${thumb ? `<img class="bk-el-image" src="${esc(thumb)}" alt="" loading="lazy" referrerpolicy="no-referrer">` : ''}</div>`;
}

/**
 * Legacy message attachments (webhooks and older apps still send them):
 * color bar, pretext, author, title, text, fields, blocks, url buttons, image,
 * thumb, footer. Text and field values are mrkdwn. Never throws.
 */
export function renderAttachments(attachments, ctx) {
  const c = ctx || {};
  return arr(attachments).map((a) => {
    try {
      return attachmentHtml(a, c);
    } catch {
      return `<div class="bk-block bk-unknown">This content can't be displayed.</div>`;
    }
  }).join('');
}

/* ---------- view state ---------- */

function parseJson(s) {
  if (typeof s !== 'string' || s === '') return null;
  try { return JSON.parse(s); } catch { return null; }
}
const optionOf = (node) => parseJson(node.getAttribute('data-option'));
const csv = (el) => (el.getAttribute('data-value') || '').split(',').filter(Boolean);
const one = (el) => el.getAttribute('data-value') || null;
const textValue = (el) => (el.value === '' || el.value == null ? null : String(el.value));

const READ = {
  plain_text_input: (el) => ({ value: textValue(el) }),
  email_text_input: (el) => ({ value: textValue(el) }),
  url_text_input: (el) => ({ value: textValue(el) }),
  number_input: (el) => ({ value: textValue(el) }),
  rich_text_input: (el) => ({
    rich_text_value: { type: 'rich_text', elements: el.value ? [{ type: 'rich_text_section', elements: [{ type: 'text', text: String(el.value) }] }] : [] },
  }),
  static_select: (el) => {
    const sel = [...el.querySelectorAll('option')].find((o) => o.selected && o.getAttribute('data-option'));
    return { selected_option: sel ? optionOf(sel) : null };
  },
  multi_static_select: (el) => ({
    selected_options: [...el.querySelectorAll('option')].filter((o) => o.selected && o.getAttribute('data-option')).map(optionOf).filter(Boolean),
  }),
  users_select: (el) => ({ selected_user: one(el) }),
  multi_users_select: (el) => ({ selected_users: csv(el) }),
  conversations_select: (el) => ({ selected_conversation: one(el) }),
  multi_conversations_select: (el) => ({ selected_conversations: csv(el) }),
  channels_select: (el) => ({ selected_channel: one(el) }),
  multi_channels_select: (el) => ({ selected_channels: csv(el) }),
  external_select: (el) => ({ selected_option: parseJson(el.getAttribute('data-option')) }),
  multi_external_select: (el) => {
    const v = parseJson(el.getAttribute('data-options'));
    return { selected_options: Array.isArray(v) ? v : [] };
  },
  datepicker: (el) => ({ selected_date: textValue(el) }),
  timepicker: (el) => ({ selected_time: textValue(el) }),
  datetimepicker: (el) => {
    const t = el.value ? Date.parse(el.value) : NaN;
    return { selected_date_time: Number.isFinite(t) ? Math.floor(t / 1000) : null };
  },
  checkboxes: (el) => ({
    selected_options: [...el.querySelectorAll('input')].filter((i) => i.checked).map(optionOf).filter(Boolean),
  }),
  radio_buttons: (el) => {
    const sel = [...el.querySelectorAll('input')].find((i) => i.checked);
    return { selected_option: sel ? optionOf(sel) : null };
  },
};

const own = (o, k, v) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/**
 * Slack's view.state.values from a rendered form (or any element holding
 * rendered blocks): {block_id: {action_id: {type, value | selected_* ...}}}.
 * Uses only querySelectorAll, getAttribute and the controls' value/checked/
 * selected, so it works on any DOM.
 */
export function readViewState(root) {
  const values = {};
  if (!root || typeof root.querySelectorAll !== 'function') return values;
  for (const el of root.querySelectorAll('[data-kind][data-block-id][data-action-id]')) {
    const type = el.getAttribute('data-kind');
    const read = Object.prototype.hasOwnProperty.call(READ, type) ? READ[type] : null;
    if (!read) continue;
    const blockId = el.getAttribute('data-block-id');
    const actionId = el.getAttribute('data-action-id');
    // Ids come from the app; defineProperty keeps "__proto__" an ordinary key.
    if (!Object.prototype.hasOwnProperty.call(values, blockId)) own(values, blockId, {});
    own(values[blockId], actionId, { type, ...read(el) });
  }
  return values;
}

/**
 * The entry of a block_actions payload's `actions` array for an interactive
 * element the user just used (the element carrying data-kind: a button, an
 * overflow item, a select, a picker, a checkbox group ...), in Slack's shape:
 * {type, action_id, block_id, action_ts, value | selected_* ...}. null for an
 * element that is not an action (e.g. the overflow toggle).
 */
export function actionPayload(el) {
  if (!el || typeof el.getAttribute !== 'function') return null;
  const type = el.getAttribute('data-kind');
  const base = { type, action_id: el.getAttribute('data-action-id'), block_id: el.getAttribute('data-block-id'),
    action_ts: (Date.now() / 1000).toFixed(6) };
  if (!type || base.action_id == null || base.block_id == null) return null;
  if (type === 'button' || type === 'workflow_button') {
    const out = { ...base, text: parseJson(el.getAttribute('data-text')) || { type: 'plain_text', text: '' } };
    const v = el.getAttribute('data-value');
    if (v != null) out.value = v;
    const st = el.getAttribute('data-style');
    if (st) out.style = st;
    return out;
  }
  if (type === 'overflow') return { ...base, selected_option: optionOf(el) };
  const read = Object.prototype.hasOwnProperty.call(READ, type) ? READ[type] : null;
  return read ? { ...base, ...read(el) } : null;
}
