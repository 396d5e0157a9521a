// Desktop notifications for mentions and DMs (not in muted conversations,
// not for the one being read), and the unread count in the tab title.
import { S, on, convName, userName } from './state.js';
import { isMuted } from './userprefs.js';

export function initNotifications({ open }) {
  on('notify', ({ conv, msg, mention }) => {
    if (!mention || isMuted(conv.id)) return;
    if (S.current === conv.id && document.visibilityState === 'visible' && S.focused) return;
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    const who = userName(msg.user) || msg.username || 'Someone';
    const where = conv.is_im ? who : `${who} in ${conv.is_mpim ? '' : '#'}${convName(conv)}`;
    const body = (msg.text || '').replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => `@${userName(id) || id}`).replace(/<![^>]*>/g, '@here').slice(0, 200);
    const n = new Notification(where, { body, tag: `${conv.id}/${msg.ts}`, icon: `/avatars/users/${msg.user}` });
    n.onclick = () => { window.focus(); open(conv.id, { focusTs: msg.ts }); n.close(); };
  });
  const title = () => {
    let mentions = 0;
    let unread = false;
    for (const c of S.convs.values()) {
      if (isMuted(c.id)) continue;
      mentions += c.mention_count || 0;
      if (c.unread_count > 0 && (c.is_member || c.is_im || c.is_mpim)) unread = true;
    }
    const c = S.convs.get(S.current);
    const where = c ? `${c.is_im || c.is_mpim ? '' : '#'}${convName(c)} - ` : '';
    document.title = `${mentions ? `(${mentions}) ` : unread ? '* ' : ''}${where}${S.team?.name || 'Canal'}`;
  };
  on('convs', title);
  on('open', title);
}

export async function askPermission() {
  if (!('Notification' in window)) return 'unsupported';
  if (Notification.permission === 'default') return Notification.requestPermission();
  return Notification.permission;
}
