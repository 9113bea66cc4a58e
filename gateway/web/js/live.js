// The live connection over the gateway's WebSocket (/ws/notifications), as described in
// DESIGN.md, "Realtime protocol": a single-use ticket per connection, hello / event / resync
// frames, reconnection with backoff from the last cursor.

import { ApiError, api, refreshSession } from "./api.js";

const UNAUTHORIZED = 4401;
const MAX_DELAY_MS = 30000;

export class LiveConnection {
  /**
   * @param {object} handlers
   * @param {(frame: object) => void} handlers.onEvent  an `event` frame
   * @param {() => void} handlers.onResync  the gap cannot be replayed: refetch over REST
   * @param {(state: string) => void} handlers.onState  "connecting" | "live" | "offline"
   * @param {() => void} handlers.onSignedOut  the session cannot be renewed
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.cursor = null;
    this.socket = null;
    this.timer = null;
    this.attempt = 0;
    this.stopped = true;
    this.renew = false;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000);
    }
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  async connect() {
    this.timer = null;
    if (this.stopped) return;
    this.handlers.onState("connecting");
    let ticket;
    try {
      if (this.renew) {
        // 4401: the ticket or the session was refused; renew the session before a new ticket.
        await refreshSession();
        this.renew = false;
      }
      ticket = (await api("POST", "/api/realtime/ticket")).ticket;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        this.stop();
        this.handlers.onSignedOut();
        return;
      }
      this.retry();
      return;
    }
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ ticket });
    if (this.cursor) query.set("cursor", this.cursor);
    const socket = new WebSocket(`${scheme}//${location.host}/ws/notifications?${query}`);
    this.socket = socket;
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (closed) => {
      if (this.socket !== socket) return; // stopped on purpose
      this.socket = null;
      if (closed.code === UNAUTHORIZED) this.renew = true;
      this.retry();
    });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.cursor) this.cursor = frame.cursor;
    if (frame.type === "hello") {
      this.attempt = 0;
      this.handlers.onState("live");
    } else if (frame.type === "event") {
      this.handlers.onEvent(frame);
    } else if (frame.type === "resync") {
      this.handlers.onResync();
    }
  }

  retry() {
    if (this.stopped) return;
    this.handlers.onState("offline");
    const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** this.attempt);
    this.attempt += 1;
    // Jitter: a restarted relay is not met by every client at the same instant.
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
  }
}
