// The real-time socket (/rtm, authenticated by the session cookie). It
// reconnects with a growing, jittered delay; every "hello" after the first
// is reported as a reconnect so the app can catch up on what it missed.
// A ping every 20 s notices a dead connection the browser would not.
export class RtmSocket {
  constructor({ onEvent, onState, onReconnect, onRefused }) {
    this.onEvent = onEvent;
    this.onRefused = onRefused;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.ws = null;
    this.attempt = 0;
    this.connectedOnce = false;
    this.closed = false;
    this.nextId = 1;
    this.lastPong = 0;
  }

  url() {
    return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/rtm`;
  }

  start() {
    if (this.closed) return;
    this.onState('connecting');
    let ws;
    try { ws = new WebSocket(this.url()); } catch { this.retry(); return; }
    this.ws = ws;
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'hello') {
        this.attempt = 0;
        this.lastPong = Date.now();
        this.onState('online');
        const again = this.connectedOnce;
        this.connectedOnce = true;
        if (again) this.onReconnect();
        return;
      }
      if (msg.type === 'pong') { this.lastPong = Date.now(); return; }
      this.onEvent(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState('offline');
      // Refused twice in a row: is the session still there at all?
      if (this.attempt >= 2) this.onRefused?.();
      this.retry();
    };
    ws.onerror = () => { /* onclose follows */ };
    clearInterval(this.pinger);
    this.pinger = setInterval(() => this.ping(), 20000);
  }

  ping() {
    if (!this.ws || this.ws.readyState !== 1) return;
    if (this.lastPong && Date.now() - this.lastPong > 45000) { this.ws.close(); return; }
    this.send({ type: 'ping' });
  }

  retry() {
    if (this.closed) return;
    clearTimeout(this.timer);
    const base = Math.min(10000, 300 * 2 ** this.attempt++);
    this.timer = setTimeout(() => this.start(), base / 2 + Math.random() * base / 2);
  }

  // A dropped network often leaves the socket open in the browser's eyes.
  kick() {
    if (this.ws && this.ws.readyState === 1) this.ping();
    else if (!this.ws) { this.attempt = 0; this.retry(); }
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify({ id: this.nextId++, ...obj }));
    return true;
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
  }
}
