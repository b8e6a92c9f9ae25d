// Live events over `graphql-transport-ws` at /graphql/ws: a small client of the protocol that
// keeps its subscriptions across reconnections and reports the connection's state.

const RETRY_MAX_SECONDS = 30;

/**
 * One connection for the page. `onState(state, detail)` hears `connecting`, `open`, `lost`
 * (with the seconds until the next try) and `refused` (the token was refused or has
 * expired; no retry). `onReconnect()` runs when a connection opens after a lost one, so views
 * can catch up on what they missed.
 */
export class Live {
  constructor(token, { onState, onReconnect }) {
    this.token = token;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.socket = null;
    this.stopped = false;
    this.failures = 0;
    this.hadConnection = false;
    this.timer = null;
  }

  /** Subscribes for as long as the page lives; `onNext(data)` hears each event. */
  subscribe(query, variables, onNext) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, onNext });
    if (this.acknowledged) this.send({ id, type: 'subscribe', payload: { query, variables } });
    return id;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'signed out');
    this.socket = null;
  }

  connect() {
    const url = new URL('/graphql/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.acknowledged = false;
    this.onState('connecting');
    const socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.send({ type: 'connection_init', payload: { Authorization: `Bearer ${this.token}` } });
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => this.closed(socket, event));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack': {
        this.acknowledged = true;
        this.failures = 0;
        for (const [id, s] of this.subscriptions) {
          this.send({ id, type: 'subscribe', payload: { query: s.query, variables: s.variables } });
        }
        this.onState('open');
        if (this.hadConnection) this.onReconnect();
        this.hadConnection = true;
        break;
      }
      case 'next': {
        const s = this.subscriptions.get(message.id);
        if (s && message.payload && message.payload.data) s.onNext(message.payload.data);
        if (message.payload && message.payload.errors) {
          const first = message.payload.errors[0];
          if (first && first.extensions && first.extensions.code === 'UNAUTHENTICATED') {
            this.refuse(first.message);
          }
        }
        break;
      }
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'error':
        console.warn('subscription refused', message.id, message.payload);
        break;
      default:
        break;
    }
  }

  closed(socket, event) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    this.acknowledged = false;
    // 4401/4403: the token was refused or has expired; a new one is needed, not a retry.
    if (event.code === 4403 || event.code === 4401) {
      this.refuse((event.reason || 'the token was refused').replace(/^Forbidden:\s*/, ''));
      return;
    }
    this.failures += 1;
    const wait = Math.min(RETRY_MAX_SECONDS, 2 ** (this.failures - 1));
    this.onState('lost', wait);
    this.timer = setTimeout(() => this.connect(), wait * 1000);
  }

  refuse(reason) {
    this.stopped = true;
    if (this.socket) this.socket.close(1000, 'refused');
    this.socket = null;
    this.onState('refused', reason);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}
