// The person's preferences kept by the server (users.prefs.get / set), so
// they follow them to every browser: muted conversations and collapsed
// sidebar sections. Drafts stay in this browser (util.prefs).
import { api } from './api.js';
import { emit } from './state.js';
import { toast } from './util.js';

let P = {};

const list = (k) => (typeof P[k] === 'string' && P[k] ? P[k].split(',') : []);

export async function loadPrefs() {
  try { P = (await api('users.prefs.get')).prefs || {}; } catch { P = {}; }
  emit('convs');
}

async function setList(k, items) {
  P[k] = items.join(',');
  emit('convs');
  try { P = (await api('users.prefs.set', { name: k, value: P[k] })).prefs; } catch (e) { toast(`Could not save the setting: ${e.error}`); }
}

// Another browser of the same person changed one.
export function prefChanged(e) {
  if (typeof e.name !== 'string') return;
  if (e.value === null || e.value === undefined) delete P[e.name]; else P[e.name] = e.value;
  emit('convs');
}

export const isMuted = (id) => list('muted_channels').includes(id);
export const setMuted = (id, on) => setList('muted_channels', on ? [...new Set([...list('muted_channels'), id])] : list('muted_channels').filter((x) => x !== id));
export const isCollapsed = (key) => list('sidebar_collapsed').includes(key);
export const setCollapsed = (key, on) => setList('sidebar_collapsed', on ? [...new Set([...list('sidebar_collapsed'), key])] : list('sidebar_collapsed').filter((x) => x !== key));
